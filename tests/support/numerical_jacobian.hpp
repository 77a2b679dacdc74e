// Checking a block's log-det against its Jacobian, computed numerically: random parameters to check at
// (the initial values are often the identity, where every log-det is 0 and a wrong one passes), and
// log|det dy/dx| of one row by central differences. Shared by the law tests of the DSL and flow blocks,
// which had each kept a copy.
#pragma once

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include <bijou/engine/input.hpp>
#include <bijou/engine/kernels/matrix_inverse.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou::testing {

// What randomise does with a parameter's current values.
enum class Noise {
    replaces_values,  // the initial values are forgotten
    adds_to_values,   // a structured start (lu_linear's orthogonal W) is kept, only moved
};

// N(0, scale) noise in every entry of every parameter of `block`, the same for the same seed. Entries
// masked out by the block are moved too: they must have no effect.
template <class Block>
void randomise(const Block& block, unsigned seed, double scale = 0.7, Noise mode = Noise::replaces_values)
{
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(0.0, scale);
    for (auto& p : block.parameters())
        for (auto& v : p.value()) {
            if (mode == Noise::adds_to_values)
                v += normal(rng);
            else
                v = normal(rng);
        }
}

// log|det dy/dx| of row `row` of a program whose output 0 is y, by central differences in the input x.
// The program is run forward again at the end, so its outputs are those of the unperturbed x.
template <class Program>
double numerical_log_det(Program& program, const Input<double>& x, std::size_t row, double step = 1e-6)
{
    const std::size_t n = x.cols();
    std::vector<double> jacobian(n * n);
    for (std::size_t j = 0; j < n; ++j) {
        const double saved = x.value()(row, j);
        x.value()(row, j) = saved + step;
        program.forward();
        const Tensor<double> up = program.template value<0>();
        x.value()(row, j) = saved - step;
        program.forward();
        for (std::size_t i = 0; i < n; ++i)
            jacobian[i * n + j] = (up(row, i) - program.template value<0>()(row, i)) / (2 * step);
        x.value()(row, j) = saved;
    }
    program.forward();
    std::vector<std::size_t> pivots(n);
    detail::lu_factor(jacobian.data(), n, pivots.data());
    double log_det = 0;
    for (std::size_t k = 0; k < n; ++k) log_det += std::log(std::abs(jacobian[k * n + k]));
    return log_det;
}

}  // namespace bijou::testing
