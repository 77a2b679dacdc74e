// Samplers for check_bijection: where the test inputs (and conditions) come from.
//
// A sampler is any callable (std::mt19937_64& rng, std::size_t batch, std::size_t dim) -> a batch x dim
// tensor (of double or of the block's scalar type; the checker converts). Ready-made ones:
//
//   samplers::normal(scale)        N(0, scale^2) per element: the typical input of a trained flow
//   samplers::uniform(low, high)   U(low, high) per element: for blocks with a bounded domain (logit)
//   samplers::extreme(large, tiny) every row mixes +-large, +-tiny and exact zeros (and, from three
//                                  columns on, an ordinary N(0, 1) value): overflow, cancellation and
//                                  division-by-zero hunting
//   samplers::fixed(rows)          the given rows, repeated: to replay a reproducer from a report
#pragma once

#include <cstddef>
#include <random>
#include <utility>

#include <bijou/engine/error.hpp>
#include <bijou/engine/tensor.hpp>

namespace bijou::dsl::samplers {

struct Normal {
    double scale = 1.0;

    Tensor<double> operator()(std::mt19937_64& rng, std::size_t batch, std::size_t dim) const
    {
        std::normal_distribution<double> draw(0.0, scale);
        Tensor<double> x = Tensor<double>::from_shape({batch, dim});
        for (auto& v : x) v = draw(rng);
        return x;
    }
};
inline Normal normal(double scale = 1.0) { return {scale}; }

struct Uniform {
    double low = 0.0;
    double high = 1.0;

    Tensor<double> operator()(std::mt19937_64& rng, std::size_t batch, std::size_t dim) const
    {
        std::uniform_real_distribution<double> draw(low, high);
        Tensor<double> x = Tensor<double>::from_shape({batch, dim});
        for (auto& v : x) v = draw(rng);
        return x;
    }
};
inline Uniform uniform(double low, double high)
{
    if (!(low < high)) throw_usage_error("samplers::uniform", "needs low < high, got ", low, " and ", high);
    return {low, high};
}

// Each element is one of: +-large * u, +-tiny * u (u ~ U(1, 2)), exactly 0, or N(0, 1). Every row
// holds at least one large and (from two columns on) one tiny value, at random positions, so that
// large and tiny values meet in the same row, where a coupling feeds one to the other's conditioner.
struct Extreme {
    double large = 1e3;
    double tiny = 1e-3;

    Tensor<double> operator()(std::mt19937_64& rng, std::size_t batch, std::size_t dim) const
    {
        std::uniform_int_distribution<int> kind(0, 3);
        std::uniform_int_distribution<std::size_t> column(0, dim - 1);
        std::uniform_real_distribution<double> factor(1.0, 2.0);
        std::bernoulli_distribution negative(0.5);
        std::normal_distribution<double> normal;
        auto draw = [&](int k) {
            const double sign = negative(rng) ? -1.0 : 1.0;
            switch (k) {
            case 0: return sign * large * factor(rng);
            case 1: return sign * tiny * factor(rng);
            case 2: return 0.0;
            default: return normal(rng);
            }
        };
        Tensor<double> x = Tensor<double>::from_shape({batch, dim});
        for (std::size_t r = 0; r < batch; ++r) {
            for (std::size_t j = 0; j < dim; ++j) x(r, j) = draw(kind(rng));
            const std::size_t large_at = column(rng);
            x(r, large_at) = draw(0);
            if (dim >= 2) {
                std::size_t tiny_at = column(rng);
                while (tiny_at == large_at) tiny_at = column(rng);
                x(r, tiny_at) = draw(1);
            }
        }
        return x;
    }
};
inline Extreme extreme(double large = 1e3, double tiny = 1e-3) { return {large, tiny}; }

// The given rows, cycled to fill the batch; the generator is not used.
struct Fixed {
    Tensor<double> rows;

    Tensor<double> operator()(std::mt19937_64&, std::size_t batch, std::size_t dim) const
    {
        if (rows.shape()[1] != dim || rows.shape()[0] == 0)
            throw_shape_error("samplers::fixed", "rows of shape ", to_string(shape_of(rows)),
                              " cannot fill a batch of ", dim, " columns");
        Tensor<double> x = Tensor<double>::from_shape({batch, dim});
        for (std::size_t r = 0; r < batch; ++r)
            for (std::size_t j = 0; j < dim; ++j) x(r, j) = rows(r % rows.shape()[0], j);
        return x;
    }
};
inline Fixed fixed(Tensor<double> rows) { return {std::move(rows)}; }

}  // namespace bijou::dsl::samplers
