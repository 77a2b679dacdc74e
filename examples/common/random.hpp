// Random draws for the experiment kit that a seed reproduces with any compiler.
//
// The standard library's distributions (uniform_real_distribution, normal_distribution, shuffle) may use
// different algorithms in different implementations, so the same seed can give different data with
// another compiler or library version. These helpers take the raw bits of a 64-bit engine
// (std::mt19937_64, whose output the standard fixes) and turn them into values by fixed formulas.
//
//   std::mt19937_64 rng(seed);
//   double u = random::uniform(rng);          // [0, 1), a multiple of 2^-53
//   double z = random::normal(rng);           // N(0, 1), Box-Muller
//   std::size_t k = random::index(rng, 10);   // 0 .. 9
//   random::shuffle(indices, rng);            // Fisher-Yates
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

namespace bijou::examples::random {

// A 64-bit engine whose every output bit is random (std::mt19937_64, say).
template <class Rng>
concept Engine64 = std::uniform_random_bit_generator<Rng> && Rng::min() == 0 &&
                   Rng::max() == std::numeric_limits<std::uint64_t>::max();

template <Engine64 Rng>
double uniform(Rng& rng)
{
    return double(rng() >> 11) * 0x1.0p-53;  // the top 53 bits
}

// Box-Muller: sqrt(-2 log u1) cos(2 pi u2) is standard normal for independent uniforms u1 in (0, 1], u2.
template <Engine64 Rng>
double normal(Rng& rng)
{
    const double u1 = 1.0 - uniform(rng), u2 = uniform(rng);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// Uniform on 0 .. n - 1 (n >= 1). floor(u n) is biased by at most n 2^-53, immaterial here.
template <Engine64 Rng>
std::size_t index(Rng& rng, std::size_t n)
{
    return std::min(std::size_t(uniform(rng) * double(n)), n - 1);
}

// Fisher-Yates: every permutation equally likely.
template <class T, Engine64 Rng>
void shuffle(std::vector<T>& items, Rng& rng)
{
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[index(rng, i)]);
}

}  // namespace bijou::examples::random
