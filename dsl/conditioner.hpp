// Conditioner: what a coupling's net spec must be. The coupling (dsl/coupling.hpp) never inverts its
// conditioner, so any engine function of the untouched features (and the condition) will do: an MLP
// (conditioner(hidden(...)), below), a convolutional net (conv_conditioner, dsl/conv_conditioner.hpp), or
// a spec of your own.
//
// A model S provides
//   S::build<T>(in, out, context, name)   the net for `in` input and `out` output columns, its weights
//                                         drawn from context.rng, its parameters named after `name`
// and the net it returns provides
//   net(x)                                an expression of B x out from a B x in expression x
//   net.parameters()                      its trainable parameters (std::vector<Param<T>>)
// Law: the net maps each row independently (a coupling's log-det and the property tests' Jacobian rely
// on it). Not a law but the library's habit: its specs start with a zero last layer, so that a coupling
// starts as the identity.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/engine/input.hpp>
#include <bijou/engine/nn/mlp.hpp>
#include <bijou/engine/param.hpp>

namespace bijou::dsl {

template <class S, class T = float>
concept Conditioner = requires(const S& spec, BuildContext& context, const std::string& name, const Input<T>& x) {
    spec.template build<T>(std::size_t{}, std::size_t{}, context, name);
    spec.template build<T>(std::size_t{}, std::size_t{}, context, name)(x);
    { spec.template build<T>(std::size_t{}, std::size_t{}, context, name).parameters() } -> std::convertible_to<std::vector<Param<T>>>;
};

// conditioner(hidden(64, 64), options): an MLP conditioner spec. Its last layer starts at zero, so a
// transform whose parameters are all zero at the identity (affine: s = t = 0) starts as the identity.
template <std::size_t N, class Activation = activation::relu>
struct ConditionerSpec {
    HiddenWidths<N> widths;
    MLPOptions<Activation> options;

    template <class T>
    auto build(std::size_t in, std::size_t out, BuildContext& context, const std::string& name) const
    {
        MLPOptions<Activation> o = options;
        o.rng = &context.rng;
        o.name = name;
        return MLP<T, N, Activation>(in, widths, out, o);
    }
};

template <std::size_t N, class Activation = activation::relu>
ConditionerSpec<N, Activation> conditioner(HiddenWidths<N> widths, MLPOptions<Activation> options = {.zero_last = true})
{
    return {widths, options};
}

}  // namespace bijou::dsl
