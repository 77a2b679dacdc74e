// Weight initialisers: deterministic given a std::mt19937_64 (or a seed), one value per element in
// row-major order, so the same seed gives the same network on every platform whose standard library
// draws the same uniform / normal sequence.
//
// For a weight of shape fan_in x fan_out (a Linear layer's, x: batch x fan_in):
//   kaiming_uniform   U(-b, b), b = sqrt(6 / fan_in):  Var = 2 / fan_in, which keeps the second moment of
//                     activations constant through relu-like layers (He et al., 2015)
//   xavier_uniform    U(-b, b), b = sqrt(6 / (fan_in + fan_out)):  Var = 2 / (fan_in + fan_out), which
//                     balances forward and backward variance for tanh-like layers (Glorot & Bengio, 2010)
//   normal            N(0, sigma^2)
//   zeros             0, e.g. the last layer of a coupling conditioner, so that a flow starts at the identity
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include <bijou/engine/error.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou {

namespace init {

namespace detail {
template <class T, class Distribution>
Tensor<T> draw(Shape shape, Distribution distribution, std::mt19937_64& rng)
{
    auto t = Tensor<T>::from_shape({shape.rows, shape.cols});
    for (auto& v : t) v = static_cast<T>(distribution(rng));
    return t;
}
}  // namespace detail

// The bound b of kaiming_uniform for a given fan-in.
inline double kaiming_bound(std::size_t fan_in) { return std::sqrt(6.0 / double(fan_in)); }
inline double xavier_bound(std::size_t fan_in, std::size_t fan_out)
{
    return std::sqrt(6.0 / double(fan_in + fan_out));
}

template <class T>
Tensor<T> zeros(Shape shape)
{
    return xt::zeros<T>({shape.rows, shape.cols});
}

template <class T>
Tensor<T> uniform(Shape shape, double low, double high, std::mt19937_64& rng)
{
    if (!(low < high)) throw_usage_error("init::uniform", "needs low < high, got [", low, ", ", high, ")");
    return detail::draw<T>(shape, std::uniform_real_distribution<double>(low, high), rng);
}

template <class T>
Tensor<T> normal(Shape shape, double sigma, std::mt19937_64& rng)
{
    if (!(sigma > 0)) throw_usage_error("init::normal", "sigma must be positive, got ", sigma);
    return detail::draw<T>(shape, std::normal_distribution<double>(0.0, sigma), rng);
}

// fan_in = shape.rows (the weight maps rows -> cols).
template <class T>
Tensor<T> kaiming_uniform(Shape shape, std::mt19937_64& rng)
{
    const double b = kaiming_bound(shape.rows);
    return uniform<T>(shape, -b, b, rng);
}

template <class T>
Tensor<T> xavier_uniform(Shape shape, std::mt19937_64& rng)
{
    const double b = xavier_bound(shape.rows, shape.cols);
    return uniform<T>(shape, -b, b, rng);
}

// Seeded forms, for a one-off tensor.
template <class T>
Tensor<T> kaiming_uniform(Shape shape, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    return kaiming_uniform<T>(shape, rng);
}
template <class T>
Tensor<T> xavier_uniform(Shape shape, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    return xavier_uniform<T>(shape, rng);
}
template <class T>
Tensor<T> normal(Shape shape, double sigma, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    return normal<T>(shape, sigma, rng);
}

}  // namespace init

// A weight initialisation scheme chosen at run time, as layer options carry it:
//   Init::kaiming_uniform(), Init::xavier_uniform(), Init::normal(0.02), Init::zeros()
struct Init {
    enum class Kind { kaiming_uniform, xavier_uniform, normal, zeros };
    Kind kind = Kind::kaiming_uniform;
    double sigma = 0;  // for Kind::normal

    static constexpr Init kaiming_uniform() { return {Kind::kaiming_uniform, 0}; }
    static constexpr Init xavier_uniform() { return {Kind::xavier_uniform, 0}; }
    static constexpr Init normal(double sigma) { return {Kind::normal, sigma}; }
    static constexpr Init zeros() { return {Kind::zeros, 0}; }

    // A fan_in x fan_out weight. Draws from rng only when the scheme is random.
    template <class T>
    Tensor<T> weight(Shape shape, std::mt19937_64& rng) const
    {
        switch (kind) {
        case Kind::kaiming_uniform: return init::kaiming_uniform<T>(shape, rng);
        case Kind::xavier_uniform: return init::xavier_uniform<T>(shape, rng);
        case Kind::normal: return init::normal<T>(shape, sigma, rng);
        default: return init::zeros<T>(shape);
        }
    }
};

}  // namespace bijou
