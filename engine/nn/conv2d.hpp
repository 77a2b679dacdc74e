// Conv2dLayer: a convolution over images in the rows of a batch (engine/kernels/conv2d.hpp) with its
// own weight and bias, as Linear is for dense layers.
//
//   std::mt19937_64 rng(1);
//   Conv2dLayer<float> conv({2, 14, 14}, 64, 3, rng);          // 2 -> 64 channels, 3x3, "same", stride 1
//   auto h = conv(x);                                            // batch x (64 * 14 * 14)
//   conv.output_shape()                                          // {64, 14, 14}
//
// The weight is (Ci k k) x Co, so fan-in is its row count and the initialisers of Linear apply as they
// are (Kaiming-uniform by default; xavier_uniform counts fan-out as Co, not Co k k). The bias starts at
// zero; Init::zeros() gives the zero last layer of a coupling's conditioner.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/image.hpp>
#include <bijou/engine/kernels/conv2d.hpp>
#include <bijou/engine/nn/init.hpp>
#include <bijou/engine/param.hpp>

namespace bijou {

struct Conv2dLayerOptions {
    std::size_t stride = 1;
    Padding padding = Padding::same;
    bool bias = true;
    Init init = Init::kaiming_uniform();
    std::string name = "conv2d";  // parameters are "<name>.weight" and "<name>.bias"
};

template <class T>
class Conv2dLayer {
    // First, so that the parameters below can be sized from them.
    Conv2dOptions options_;
    Conv2dGeometry geometry_;
    bool has_bias_;
    std::string name_;

public:
    using value_type = T;

    // Draws the weight from `rng` (advancing it).
    Conv2dLayer(ImageShape input, std::size_t out_channels, std::size_t kernel, std::mt19937_64& rng,
                const Conv2dLayerOptions& options = {})
        : options_{input, kernel, options.stride, options.padding},
          geometry_(conv2d_geometry("Conv2dLayer '" + options.name + "'", options_, out_channels)),
          has_bias_(options.bias),
          name_(options.name),
          weight(options.init.weight<T>({geometry_.patch_rows(), out_channels}, rng), options.name + ".weight"),
          bias(init::zeros<T>({1, out_channels}), options.name + ".bias")
    {
        if (!has_bias_) bias.set_trainable(false);  // the optimiser skips it, so it stays zero
    }
    Conv2dLayer(ImageShape input, std::size_t out_channels, std::size_t kernel, std::mt19937_64&& rng,
                const Conv2dLayerOptions& options = {})
        : Conv2dLayer(input, out_channels, kernel, rng, options)
    {
    }

    Param<T> weight;  // (Ci k k) x Co
    Param<T> bias;    // 1 x Co; zero and frozen without a bias

    const std::string& name() const { return name_; }
    ImageShape input_shape() const { return geometry_.in; }
    ImageShape output_shape() const { return geometry_.out; }
    const Conv2dGeometry& geometry() const { return geometry_; }

    // The convolution of x's rows, a Var (a convolution materialises its output).
    template <Expr E>
    auto operator()(const E& x) const
    {
        static_assert(std::is_same_v<detail::value_type_t<E>, T>,
                      "bijou: Conv2dLayer<T> takes expressions of the same value type T (float or double)");
        if constexpr (requires { x.cols(); }) {  // an Input knows its width before the program is bound
            if (x.cols() != geometry_.in.size())
                throw_shape_error("Conv2dLayer '" + name_ + "'", "expects images ", to_string(geometry_.in), " (",
                                  geometry_.in.size(), " features), got an input '", x.name(), "' with ", x.cols());
        }
        // Without a bias, the frozen zero bias keeps one kernel type for both kinds of layer.
        return conv2d(x, weight, bias, options_);
    }

    std::vector<Param<T>> parameters() const
    {
        if (has_bias_) return {weight, bias};
        return {weight};
    }
};

}  // namespace bijou
