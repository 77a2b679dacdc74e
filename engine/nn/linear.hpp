// Linear: an affine layer y = x W + b, with x: batch x in, W: in x out, b: 1 x out (broadcast over the batch).
//
//   Linear<float> layer(64, 32, rng);                  // Kaiming-uniform weight, zero bias
//   auto h = let(relu(layer(x)));                       // the bias add and relu fuse into one pass
//
// Calling the layer builds a new expression each time over the same parameters, so one layer used in
// several places (or programs) shares its weights, and the backward passes add their gradients.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/kernels/matmul.hpp>
#include <bijou/engine/nn/init.hpp>
#include <bijou/engine/ops/arithmetic.hpp>
#include <bijou/engine/param.hpp>

namespace bijou {

struct LinearOptions {
    Init init = Init::kaiming_uniform();  // the weight's; the bias starts at zero
    std::uint64_t seed = 0;               // used by the constructor without an rng
    std::string name = "linear";          // parameters are "<name>.weight" and "<name>.bias"
};

template <class T>
class Linear {
public:
    using value_type = T;

    // Draws the weight from `rng` (advancing it), so consecutive layers of a network get fresh draws.
    Linear(std::size_t in, std::size_t out, std::mt19937_64& rng, const LinearOptions& options = {})
        : Linear(draw_weight(in, out, rng, options), init::zeros<T>({1, out}), options.name)
    {
    }
    Linear(std::size_t in, std::size_t out, std::mt19937_64&& rng, const LinearOptions& options = {})
        : Linear(in, out, rng, options)
    {
    }

    // Draws the weight from a generator seeded with options.seed.
    Linear(std::size_t in, std::size_t out, const LinearOptions& options = {})
        : Linear(in, out, std::mt19937_64(options.seed), options)
    {
    }

    // From given values: weight in x out, bias 1 x out.
    Linear(Tensor<T> weight, Tensor<T> bias, const std::string& name = "linear")
        : weight(validated(std::move(weight), bias, name), name + ".weight"),
          bias(std::move(bias), name + ".bias"),
          name_(name)
    {
    }

    Param<T> weight;
    Param<T> bias;

    const std::string& name() const { return name_; }
    std::size_t in_features() const { return weight.value().shape()[0]; }
    std::size_t out_features() const { return weight.value().shape()[1]; }

    // x W + b as a lazy expression: the caller may fuse an activation before binding it with `let`.
    template <Expr E>
    auto operator()(const E& x) const
    {
        static_assert(std::is_same_v<detail::value_type_t<E>, T>,
                      "bijou: Linear<T> takes expressions of the same value type T (float or double)");
        if constexpr (requires { x.cols(); }) {  // an Input knows its width before the program is bound
            if (x.cols() != in_features())
                throw_shape_error("Linear '" + name_ + "'", "expects ", in_features(),
                                  " input features, got an input '", x.name(), "' with ", x.cols(), " (weight ",
                                  shape_of(weight.value()), ")");
        }
        return matmul(x, weight) + bias;
    }

    std::vector<Param<T>> parameters() const { return {weight, bias}; }

private:
    std::string name_;

    static Tensor<T> draw_weight(std::size_t in, std::size_t out, std::mt19937_64& rng, const LinearOptions& options)
    {
        if (in == 0 || out == 0)
            throw_shape_error("Linear", "'", options.name, "' needs at least one input and one output feature, got ",
                              in, " -> ", out);
        return options.init.weight<T>({in, out}, rng);
    }

    static Tensor<T> validated(Tensor<T> weight, const Tensor<T>& bias, const std::string& name)
    {
        const Shape w = shape_of(weight), b = shape_of(bias);
        if (w.rows == 0 || w.cols == 0) throw_shape_error("Linear", "'", name, "' needs a non-empty weight, got ", w);
        if (b != Shape{1, w.cols})
            throw_shape_error("Linear", "'", name, "': the bias must be 1 x out = ", Shape{1, w.cols},
                              " for the weight ", w, ", got ", b);
        return weight;
    }
};

}  // namespace bijou
