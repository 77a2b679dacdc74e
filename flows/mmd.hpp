// Maximum mean discrepancy (Gretton et al. 2012) with multi-scale inverse multiquadric kernels: the
// distribution-matching losses of INN training (Ardizzone et al. 2019) and the posterior error of the
// inverse-problem benchmarks (Kruse et al. 2021).
//
// For samples x_1..x_n ~ P and y_1..y_m ~ Q and a kernel k,
//   MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y),
// estimated by
//   biased    (V-statistic)  1/n^2 sum_{i,j} k(x_i, x_j) + 1/m^2 sum_{i,j} k(y_i, y_j) - 2/(n m) sum_{i,j} k(x_i, y_j)
//   unbiased  (U-statistic)  the same with the first two sums over i != j only, divided by n(n-1), m(m-1)
// The biased estimate is >= 0 and is what Ardizzone et al. train with; the unbiased one has expectation
// exactly MMD^2 (and may be slightly negative), which matters when comparing small samples.
//
// Kernels are sums of terms C^a ((C + |u - v|^2) / a)^(-a) (flows/multiquadric.hpp):
//   inverse_multiquadric_kernel({0.05, 0.2, 0.9})           sum_h 1 / (1 + |u - v|^2 / h^2)
//   generalised_multiquadric_kernel({{0.2, 2}, {1.5, 2}})   the (C, a) pairs of the INN paper's code
//
//   auto loss = mmd(model_output, target_samples, {.kernel = inverse_multiquadric_kernel({0.05, 0.2, 0.9})});
//   Program program(loss);                                         // differentiable in both arguments
//   double e = sample_mmd(samples_a, samples_b, options);          // plain tensors, for evaluation
//
// In a program the pairwise squared distances come from one matrix product,
//   |u_i - v_j|^2 = |u_i|^2 + |v_j|^2 - 2 u_i . v_j,
// clamped at 0 from below (rounding can make the difference of nearly equal numbers slightly negative,
// which the kernel must not see); the kernel and the mean are fused into one pass over the n x m pairs.
#pragma once

#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <vector>

#include <bijou/engine/engine.hpp>
#include <bijou/engine/parallel/gather_rows.hpp>
#include <bijou/flows/multiquadric.hpp>
#include <bijou/flows/pairwise_mean.hpp>

namespace bijou::flows {

struct MmdKernel {
    std::vector<MultiquadricTerm> terms;
};

// sum over widths h of 1 / (1 + |u - v|^2 / h^2): the terms (C = h^2, a = 1).
inline MmdKernel inverse_multiquadric_kernel(std::initializer_list<double> widths)
{
    MmdKernel kernel;
    for (const double h : widths) {
        if (!(h > 0)) throw_usage_error("inverse_multiquadric_kernel", "widths must be > 0, got ", h);
        kernel.terms.push_back({h * h, 1.0});
    }
    return kernel;
}

// sum over (C, a) of C^a ((C + |u - v|^2) / a)^(-a).
inline MmdKernel generalised_multiquadric_kernel(std::initializer_list<MultiquadricTerm> terms)
{
    return {std::vector<MultiquadricTerm>(terms)};
}

enum class MmdEstimator { biased, unbiased };

struct MmdOptions {
    MmdKernel kernel = inverse_multiquadric_kernel({0.05, 0.2, 0.9});
    MmdEstimator estimator = MmdEstimator::biased;
};

// The n x m matrix of |u_i - v_j|^2 between the rows of u (n x d) and v (m x d), as a lazy expression.
template <Expr U, Expr V>
auto squared_distances(const U& u, const V& v)
{
    auto a = bind_operand(u);
    auto b = bind_operand(v);
    return relu(sum(square(a), 1) + transpose(sum(square(b), 1)) - 2.0 * matmul(a, transposed(b)));
}

// The n x n matrix of |u_i - u_j|^2 (one norm computation and one product, shared by both sides).
template <Expr U>
auto squared_distances(const U& u)
{
    auto a = bind_operand(u);
    auto norms = sum(square(a), 1);
    return relu(norms + transpose(norms) - 2.0 * matmul(a, transposed(a)));
}

// The MMD^2 estimate between the rows of x and of y (same width), a 1 x 1 engine expression.
template <Expr X, Expr Y>
auto mmd(const X& x, const Y& y, const MmdOptions& options = {})
{
    const std::span<const MultiquadricTerm> terms = options.kernel.terms;
    const Pairs within = options.estimator == MmdEstimator::unbiased ? Pairs::distinct : Pairs::all;
    auto a = bind_operand(x);
    auto b = bind_operand(y);
    return pairwise_mean(inverse_multiquadric(squared_distances(a), terms), within) +
           pairwise_mean(inverse_multiquadric(squared_distances(b), terms), within) -
           2.0 * pairwise_mean(inverse_multiquadric(squared_distances(a, b), terms), Pairs::all);
}

// The same estimate when the rows of a global batch are shared out among the processes of a data-
// parallel run (sharing: engine/parallel/gather_rows.hpp): x and y hold this process's rows, and the
// value is this process's rows paired with all rows, as a mean over those pairs,
//   1/(n_p n) sum_{i mine, j} k(x_i, x_j) + 1/(n_p n) sum_{i mine, j} k(y_i, y_j) - 2/(n_p n) sum_{i mine, j} k(x_i, y_j),
// so that the processes' values weighted by their shares n_p / n (as train() weights them) sum to
// mmd(x, y) of the whole batch, and so do their gradients (gather_rows returns each row's). With one
// process this is mmd(x, y). The unbiased estimator needs one process (its diagonal is the global one).
template <Expr X, Expr Y>
auto shared_mmd(const X& x, const Y& y, const MmdOptions& options, const RowSharing* sharing)
{
    const std::span<const MultiquadricTerm> terms = options.kernel.terms;
    const Pairs within = options.estimator == MmdEstimator::unbiased ? Pairs::distinct : Pairs::all;
    auto a = bind_operand(x);
    auto b = bind_operand(y);
    auto all_a = gather_rows(a, sharing);
    auto all_b = gather_rows(b, sharing);
    return pairwise_mean(inverse_multiquadric(squared_distances(a, all_a), terms), within) +
           pairwise_mean(inverse_multiquadric(squared_distances(b, all_b), terms), within) -
           2.0 * pairwise_mean(inverse_multiquadric(squared_distances(a, all_b), terms), Pairs::all);
}

// The same estimate for two plain sample sets (n x d and m x d), computed directly in double: for
// evaluation and as a reference. O(n m d) time, O(1) memory.
template <class T>
double sample_mmd(const Tensor<T>& x, const Tensor<T>& y, const MmdOptions& options = {})
{
    const std::size_t n = x.shape()[0], m = y.shape()[0], d = x.shape()[1];
    if (y.shape()[1] != d)
        throw_shape_error("sample_mmd", "both sample sets need the same width, got ", shape_of(x), " and ", shape_of(y));
    const bool unbiased = options.estimator == MmdEstimator::unbiased;
    if (n < (unbiased ? 2u : 1u) || m < (unbiased ? 2u : 1u))
        throw_shape_error("sample_mmd", "too few samples for the ", unbiased ? "unbiased" : "biased", " estimate: ",
                          shape_of(x), " and ", shape_of(y));
    const auto& terms = options.kernel.terms;
    if (terms.empty()) throw_usage_error("sample_mmd", "the kernel has no terms");
    std::vector<double> coefficients;
    for (const auto& t : terms) coefficients.push_back(std::pow(t.exponent * t.scale, t.exponent));
    auto kernel = [&](const T* u, const T* v) {
        double squared = 0;
        for (std::size_t k = 0; k < d; ++k) {
            const double difference = double(u[k]) - double(v[k]);
            squared += difference * difference;
        }
        double value = 0;
        for (std::size_t t = 0; t < terms.size(); ++t) {
            const double base = terms[t].scale + squared, a = terms[t].exponent;
            value += coefficients[t] * (a == 1 ? 1 / base : a == 2 ? 1 / (base * base) : std::pow(base, -a));
        }
        return value;
    };
    // Within one set k is symmetric: the pairs i < j are summed once and counted twice.
    auto mean_within = [&](const Tensor<T>& a) {
        const std::size_t rows = a.shape()[0];
        double off_diagonal = 0, diagonal = 0;
        for (std::size_t i = 0; i < rows; ++i) {
            diagonal += kernel(a.data() + i * d, a.data() + i * d);
            for (std::size_t j = i + 1; j < rows; ++j) off_diagonal += kernel(a.data() + i * d, a.data() + j * d);
        }
        const double r = double(rows);
        return unbiased ? 2 * off_diagonal / (r * (r - 1)) : (2 * off_diagonal + diagonal) / (r * r);
    };
    auto mean_between = [&](const Tensor<T>& a, const Tensor<T>& b) {
        double total = 0;
        for (std::size_t i = 0; i < a.shape()[0]; ++i)
            for (std::size_t j = 0; j < b.shape()[0]; ++j) total += kernel(a.data() + i * d, b.data() + j * d);
        return total / (double(a.shape()[0]) * double(b.shape()[0]));
    };
    return mean_within(x) + mean_within(y) - 2 * mean_between(x, y);
}

}  // namespace bijou::flows
