// MLP: a multilayer perceptron, the usual conditioner of a coupling block.
//
//   auto net = mlp<float>(2, hidden(64, 64), 4, {.zero_last = true});
//   auto y = net(x);    // let(relu(x W0 + b0)) -> let(relu(h W1 + b1)) -> h W2 + b2 (lazy)
//   auto smooth = mlp<double>(2, hidden(32), 1, activation::tanh{}, {.init = Init::xavier_uniform()});
//   auto same = mlp<double>(2, hidden(32), 1, MLPOptions{.activation = activation::tanh{}, .init = ...});
//
// The number of hidden layers is part of the type (the graph a call builds is a C++ type); their
// widths are run-time values. Hidden layers are bound with `let` (each is read twice: by the next matmul
// and by the backward pass), with the activation fused into the bias add. The output is returned as a
// lazy expression so that the caller can fuse what follows (e.g. exp(s), soft clamping) into its own let.
//
// Every call builds a new graph over the same parameters: a conditioner called by a forward and by an
// inverse program (or twice in one program) shares its weights, and gradients from all uses add up.
// Copies of an MLP share parameters too (a Param is a handle).
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <bijou/engine/let.hpp>
#include <bijou/engine/nn/init.hpp>
#include <bijou/engine/nn/linear.hpp>
#include <bijou/engine/ops/activation.hpp>

namespace bijou {

// The widths of the hidden layers; their number N is a compile-time quantity.
template <std::size_t N>
struct HiddenWidths {
    std::array<std::size_t, N> widths;
};

// hidden(64, 64) -> two hidden layers of 64 units; hidden() -> none (the MLP is one Linear layer).
template <class... Widths>
    requires(std::is_integral_v<Widths> && ...)
constexpr HiddenWidths<sizeof...(Widths)> hidden(Widths... widths) { return {{static_cast<std::size_t>(widths)...}}; }

// Activations of the hidden layers, as function objects over engine expressions.
namespace activation {
struct relu {
    template <Expr E>
    auto operator()(E&& e) const
    {
        return bijou::relu(std::forward<E>(e));
    }
};
struct leaky_relu {
    double slope = 0.01;
    template <Expr E>
    auto operator()(E&& e) const
    {
        return bijou::leaky_relu(std::forward<E>(e), slope);
    }
};
struct tanh {
    template <Expr E>
    auto operator()(E&& e) const
    {
        return bijou::tanh(std::forward<E>(e));
    }
};
struct elu {
    double alpha = 1.0;
    template <Expr E>
    auto operator()(E&& e) const
    {
        return bijou::elu(std::forward<E>(e), alpha);
    }
};
struct softplus {
    template <Expr E>
    auto operator()(E&& e) const
    {
        return bijou::softplus(std::forward<E>(e));
    }
};
}  // namespace activation

// MLPOptions{.activation = activation::tanh{}, .zero_last = true} deduces MLPOptions<activation::tanh>;
// without .activation it is MLPOptions<activation::relu>.
template <class Activation = activation::relu>
struct MLPOptions {
    Activation activation{};
    Init init = Init::kaiming_uniform();  // every layer's weight; biases start at zero
    bool zero_last = false;               // last layer's weight zero too: the output starts at exactly 0
    std::uint64_t seed = 0;               // used when rng is null
    std::mt19937_64* rng = nullptr;       // draw from this generator (advancing it) instead
    std::string name = "mlp";             // parameters are "<name>.<layer>.weight" / ".bias"
};

template <class T, std::size_t N, class Activation = activation::relu>
class MLP {
public:
    using value_type = T;
    static constexpr std::size_t hidden_layers = N;

    MLP(std::size_t in, HiddenWidths<N> hidden, std::size_t out, const MLPOptions<Activation>& options = {})
        : layers_(make_layers(in, hidden, out, options, std::make_index_sequence<N + 1>{})),
          activation_(options.activation)
    {
    }

    // The output expression for a batch x (batch x in); unbound, lazy in its last bias add.
    template <Expr E>
    auto operator()(const E& x) const
    {
        return apply<0>(x);
    }

    std::vector<Param<T>> parameters() const
    {
        std::vector<Param<T>> all;
        all.reserve(2 * (N + 1));
        for (const auto& layer : layers_) {
            all.push_back(layer.weight);
            all.push_back(layer.bias);
        }
        return all;
    }

    const std::array<Linear<T>, N + 1>& layers() const { return layers_; }
    const Activation& activation() const { return activation_; }
    std::size_t in_features() const { return layers_.front().in_features(); }
    std::size_t out_features() const { return layers_.back().out_features(); }

private:
    template <std::size_t I, class H>
    auto apply(const H& h) const
    {
        if constexpr (I == N)
            return layers_[I](h);
        else
            return apply<I + 1>(let(activation_(layers_[I](h))));
    }

    template <std::size_t... I>
    static std::array<Linear<T>, N + 1> make_layers(std::size_t in, const HiddenWidths<N>& hidden, std::size_t out,
                                                    const MLPOptions<Activation>& options, std::index_sequence<I...>)
    {
        std::array<std::size_t, N + 2> widths{};
        widths[0] = in;
        for (std::size_t i = 0; i < N; ++i) widths[i + 1] = hidden.widths[i];
        widths[N + 1] = out;
        for (std::size_t i = 0; i < N + 2; ++i)
            if (widths[i] == 0)
                throw_shape_error("MLP", "'", options.name, "' has a layer of width 0: ", describe(widths));

        std::mt19937_64 seeded(options.seed);
        std::mt19937_64& rng = options.rng != nullptr ? *options.rng : seeded;
        auto layer = [&](std::size_t i) {
            LinearOptions lo{.init = options.init, .name = options.name + "." + std::to_string(i)};
            if (i == N && options.zero_last) lo.init = Init::zeros();
            return Linear<T>(widths[i], widths[i + 1], rng, lo);
        };
        return {layer(I)...};  // a braced list runs left to right: layer 0 draws first
    }

    static std::string describe(const std::array<std::size_t, N + 2>& widths)
    {
        std::string s;
        for (std::size_t i = 0; i < widths.size(); ++i) s += (i ? " -> " : "") + std::to_string(widths[i]);
        return s;
    }

    std::array<Linear<T>, N + 1> layers_;
    Activation activation_;
};

namespace detail {
template <class O>
inline constexpr bool is_mlp_options = false;
template <class A>
inline constexpr bool is_mlp_options<MLPOptions<A>> = true;
}  // namespace detail

// mlp<float>(in, hidden(h1, h2, ...), out, options): the activation comes with the options (relu unless
// MLPOptions{.activation = ...} says otherwise).
template <class T, std::size_t N, class Activation = activation::relu>
MLP<T, N, Activation> mlp(std::size_t in, HiddenWidths<N> hidden, std::size_t out,
                          const MLPOptions<Activation>& options = {})
{
    return MLP<T, N, Activation>(in, hidden, out, options);
}

// mlp<float>(in, hidden(...), out, activation::tanh{}, {.zero_last = true}): the activation as its own
// argument, so the options stay a plain braced list. It replaces options.activation.
template <class T, std::size_t N, class Activation>
    requires(!detail::is_mlp_options<Activation>)
MLP<T, N, Activation> mlp(std::size_t in, HiddenWidths<N> hidden, std::size_t out, Activation activation,
                          MLPOptions<Activation> options = {})
{
    options.activation = std::move(activation);
    return MLP<T, N, Activation>(in, hidden, out, options);
}

}  // namespace bijou
