// lu_linear(): a learned invertible linear map, Glow's invertible 1x1 convolution (Kingma & Dhariwal
// 2018) for vectors, parametrised by its LU decomposition so that the determinant is free:
//
//   y = x W^T,   W = P L (U + diag(sign * exp(log_scale)))
//   P           a fixed permutation
//   L           unit lower triangular: the learned "lower" parameter, masked to below the diagonal, + I
//   U           strictly upper triangular: the learned "upper" parameter, masked to above the diagonal
//   log_scale   learned (1 x D); sign fixed (+-1), so the diagonal never crosses zero
//   log|det J| = sum_j log_scale_j, the same for every row
//
// Inverse: x = y W^-T = (y P) M^-T with M = L (U + diag(...)): the permutation is undone by a column
// gather and M is inverted by the engine's matrix_inverse kernel (LU with partial pivoting, see
// engine/kernels/matrix_inverse.hpp), so both passes are differentiable in x and in the parameters.
//
// Initialisation: W is a random orthogonal matrix (Q of the QR of a Gaussian matrix, drawn from the
// build context's generator) decomposed as Q = P L U (partial pivoting), so the block starts volume
// preserving (log-det 0) and well conditioned. Masks and signs are fixed matrices: read like parameters
// but without gradients, and not among parameters().
#pragma once

#include <cmath>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/engine/engine.hpp>

namespace bijou::flows {

namespace detail {

// A constant matrix leaf: a source with a value and no adjoint, which no optimizer sees.
template <class T>
using FixedMatrix = SourceRef<SourceNode<T>>;

template <class T>
FixedMatrix<T> fixed_matrix(Tensor<T> value, std::string name)
{
    auto node = std::make_shared<SourceNode<T>>();
    node->value = std::move(value);
    node->name = std::move(name);
    node->needs_adjoint = false;
    return FixedMatrix<T>(std::move(node));
}

// A Haar-distributed random orthogonal n x n matrix (row-major): the Q of a Gaussian matrix's QR
// decomposition by modified Gram-Schmidt, whose R has a positive diagonal (Mezzadri 2007).
inline std::vector<double> random_orthogonal(std::size_t n, std::mt19937_64& rng)
{
    std::normal_distribution<double> normal;
    std::vector<double> q(n * n);
    for (auto& v : q) v = normal(rng);
    for (std::size_t j = 0; j < n; ++j) {     // column j of q becomes orthonormal to columns 0..j-1
        for (int pass = 0; pass < 2; ++pass)  // the second pass restores orthogonality lost to rounding
            for (std::size_t i = 0; i < j; ++i) {
                double projection = 0;
                for (std::size_t r = 0; r < n; ++r) projection += q[r * n + i] * q[r * n + j];
                for (std::size_t r = 0; r < n; ++r) q[r * n + j] -= projection * q[r * n + i];
            }
        double norm = 0;
        for (std::size_t r = 0; r < n; ++r) norm += q[r * n + j] * q[r * n + j];
        norm = std::sqrt(norm);
        for (std::size_t r = 0; r < n; ++r) q[r * n + j] /= norm;
    }
    return q;
}

template <class T>
Tensor<T> square_matrix(std::size_t n, auto entry)
{
    Tensor<T> m = Tensor<T>::from_shape({n, n});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) m(i, j) = T(entry(i, j));
    return m;
}

}  // namespace detail

template <class T>
class LULinear {
public:
    using value_type = T;

    // row_of[i]: the row of W that is row i of M = L (U + diag), i.e. P has P[row_of[i], i] = 1.
    LULinear(std::vector<std::size_t> row_of, Param<T> lower, Param<T> upper, Param<T> log_scale, Tensor<T> sign)
        : dim_(row_of.size()), lower_(std::move(lower)), upper_(std::move(upper)), log_scale_(std::move(log_scale))
    {
        const std::size_t n = dim_;
        check_permutation(row_of);
        if (shape_of(lower_.value()) != Shape{n, n} || shape_of(upper_.value()) != Shape{n, n} ||
            shape_of(log_scale_.value()) != Shape{1, n} || shape_of(sign) != Shape{1, n})
            throw_shape_error("lu_linear", "for ", n, " features: lower ", shape_of(lower_.value()), ", upper ",
                              shape_of(upper_.value()), ", log_scale ", shape_of(log_scale_.value()), ", sign ",
                              shape_of(sign), " (expected D x D, D x D, 1 x D, 1 x D)");
        std::vector<std::size_t> column_of_row(n);  // y[:, j] = (x M^T)[:, column_of_row[j]]
        for (std::size_t i = 0; i < n; ++i) column_of_row[row_of[i]] = i;
        const std::string& name = lower_.name();
        lower_mask_ =
            detail::fixed_matrix(detail::square_matrix<T>(n, [](auto i, auto j) { return i > j; }), name + "_mask");
        upper_mask_ = detail::fixed_matrix(detail::square_matrix<T>(n, [](auto i, auto j) { return i < j; }),
                                           upper_.name() + "_mask");
        identity_ = detail::fixed_matrix(detail::square_matrix<T>(n, [](auto i, auto j) { return i == j; }),
                                         name + "_identity");
        sign_diagonal_ = detail::fixed_matrix(
            detail::square_matrix<T>(n, [&](auto i, auto j) { return i == j ? sign(0, j) : T(0); }),
            log_scale_.name() + "_sign");
        sign_ = std::move(sign);
        to_output_ = std::make_shared<const std::vector<std::size_t>>(std::move(column_of_row));
        from_output_ = std::make_shared<const std::vector<std::size_t>>(std::move(row_of));
    }

    std::size_t dim() const { return dim_; }
    std::vector<Param<T>> parameters() const { return {lower_, upper_, log_scale_}; }
    const Param<T>& lower() const { return lower_; }
    const Param<T>& upper() const { return upper_; }
    const Param<T>& log_scale() const { return log_scale_; }
    const Tensor<T>& sign() const { return sign_; }

    // W = P L (U + diag(sign exp(log_scale))) from the current parameters (for inspection and tests).
    Tensor<T> weight() const
    {
        const std::size_t n = dim_;
        Tensor<T> w = xt::zeros<T>({n, n});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                double m = 0;  // M_ij = sum_k L_ik U_kj over k <= min(i, j)
                for (std::size_t k = 0; k <= std::min(i, j); ++k) {
                    const double l = k == i ? 1.0 : double(lower_.value()(i, k));
                    const double u = k == j ? double(sign_(0, j)) * std::exp(double(log_scale_.value()(0, j)))
                                            : double(upper_.value()(k, j));
                    m += l * u;
                }
                w((*from_output_)[i], j) = T(m);
            }
        return w;
    }

    // y = x W^T: z = x M^T, then row i of M is row row_of[i] of W, so y[:, j] = z[:, column_of_row[j]].
    template <class X, class C>
    auto forward(const X& x, const C&) const
    {
        auto y = permute_columns(matmul(x, transposed(factor_product())), to_output_);
        return dsl::Transformed{y, sum_columns_like(log_scale_, x)};
    }

    // x = y W^-T = (y P) M^-T.
    template <class Y, class C>
    auto inverse(const Y& y, const C&) const
    {
        auto x = matmul(permute_columns(y, from_output_), transposed(matrix_inverse(factor_product())));
        return dsl::Transformed{x, sum_columns_like(-log_scale_, y)};
    }

    // M (an expression of the parameters) and the row orders of P, for blocks that apply the same map
    // in another layout (the invertible 1x1 convolution applies it to every pixel).
    auto factors() const { return factor_product(); }
    const std::shared_ptr<const std::vector<std::size_t>>& to_output() const { return to_output_; }
    const std::shared_ptr<const std::vector<std::size_t>>& from_output() const { return from_output_; }

private:
    // M = L (U + diag(sign exp(log_scale))), the masks keeping each factor triangular (and the gradients
    // of the entries outside the triangles zero).
    auto factor_product() const
    {
        return matmul(lower_ * lower_mask_ + identity_, upper_ * upper_mask_ + sign_diagonal_ * exp(log_scale_));
    }

    std::size_t dim_;
    Param<T> lower_, upper_, log_scale_;
    Tensor<T> sign_;
    detail::FixedMatrix<T> lower_mask_, upper_mask_, identity_, sign_diagonal_;
    std::shared_ptr<const std::vector<std::size_t>> to_output_, from_output_;
};

struct LULinearSpec {
    std::string kind = "lu_linear";  // in parameter names and messages

    template <class T>
    LULinear<T> build(std::size_t dim, dsl::BuildContext& context) const
    {
        if (dim == 0) throw_shape_error(kind, "needs at least one feature");
        const std::size_t n = dim;
        std::vector<double> lu = detail::random_orthogonal(n, context.rng);
        std::vector<std::size_t> pivots(n), row_of(n);
        bijou::detail::lu_factor(lu.data(), n, pivots.data());  // P Q = L U
        bijou::detail::lu_row_order(pivots.data(), n, row_of.data());
        const std::string base = context.next_name(kind);
        auto at = [&](std::size_t i, std::size_t j) { return lu[i * n + j]; };
        Param<T> lower(detail::square_matrix<T>(n, [&](auto i, auto j) { return i > j ? at(i, j) : 0.0; }),
                       base + ".lower");
        Param<T> upper(detail::square_matrix<T>(n, [&](auto i, auto j) { return i < j ? at(i, j) : 0.0; }),
                       base + ".upper");
        Tensor<T> log_scale = Tensor<T>::from_shape({1, n}), sign = Tensor<T>::from_shape({1, n});
        for (std::size_t j = 0; j < n; ++j) {  // Q is orthogonal, so no pivot of its LU is zero
            log_scale(0, j) = T(std::log(std::abs(at(j, j))));
            sign(0, j) = at(j, j) < 0 ? T(-1) : T(1);
        }
        return LULinear<T>(std::move(row_of), std::move(lower), std::move(upper),
                           Param<T>(std::move(log_scale), base + ".log_scale"), std::move(sign));
    }
};

inline LULinearSpec lu_linear() { return {}; }

}  // namespace bijou::flows
