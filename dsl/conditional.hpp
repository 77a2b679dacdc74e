// conditional(spec, condition_dim[, condition_net]): a conditional bijection z = f(x; c) with
// x = f^-1(z; c) (Ardizzone et al. 2019, cINNs). The condition c (B x condition_dim, or 1 x
// condition_dim for one condition shared by the batch) is fed to every conditioner inside `spec`: each
// coupling appends it to the input of its network. It is never transformed, so invertibility in x is
// unaffected.
//
// With a condition network (an MLP shared by all blocks, trained with them), the couplings receive
// h = condition_net(c) instead of c, computed once per pass:
//
//   auto cinn = conditional(repeat<8>(seq(coupling(halves, conditioner(hidden(64)), flows::affine),
//                                         permute_random())),
//                           10, condition_net(hidden(32), 16));
#pragma once

#include <optional>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/mapping.hpp>
#include <bijou/engine/nn/mlp.hpp>

namespace bijou::dsl {

// No condition network: the couplings read c itself.
struct IdentityConditionNet {
    template <class C>
    const C& operator()(const C& c) const
    {
        return c;
    }
    template <class T>
    std::vector<Param<T>> parameters() const
    {
        return {};
    }
};

template <class Inner, class ConditionNet>
class Conditional {
public:
    using value_type = typename Inner::value_type;
    using T = value_type;
    static constexpr bool is_conditional = true;

    Conditional(Inner inner, ConditionNet net, std::size_t condition_dim)
        : inner_(std::move(inner)), net_(std::move(net)), condition_dim_(condition_dim)
    {
    }

    std::size_t dim() const { return inner_.dim(); }
    std::size_t condition_dim() const { return condition_dim_; }
    const Inner& inner() const { return inner_; }
    const ConditionNet& condition_net() const { return net_; }

    std::vector<Param<T>> parameters() const
    {
        auto all = inner_.parameters();
        std::vector<Param<T>> own;
        if constexpr (std::is_same_v<ConditionNet, IdentityConditionNet>)
            own = net_.template parameters<T>();
        else
            own = net_.parameters();
        all.insert(all.end(), own.begin(), own.end());
        return all;
    }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        require_condition<C>();
        return inner_.forward(x, features(c));
    }
    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        require_condition<C>();
        return inner_.inverse(y, features(c));
    }

private:
    template <class C>
    static void require_condition()
    {
        static_assert(has_condition<C>, "bijou dsl: this block is conditional: call forward(x, c) / inverse(y, c) "
                                        "with a condition, or use Flow::log_prob(x, c) / sample(n, c)");
    }

    // The shared condition features, bound once and read by every conditioner.
    template <class C>
    auto features(const C& c) const
    {
        if constexpr (std::is_same_v<ConditionNet, IdentityConditionNet>)
            return bind_operand(c);
        else
            return let(net_(c));
    }

    Inner inner_;
    ConditionNet net_;
    std::size_t condition_dim_;
};

// condition_net(hidden(32), 16): an MLP from the condition to 16 features, shared by all couplings.
template <std::size_t N, class Activation = activation::relu>
struct ConditionNetSpec {
    HiddenWidths<N> widths;
    std::size_t features;
    MLPOptions<Activation> options;
};

template <std::size_t N, class Activation = activation::relu>
ConditionNetSpec<N, Activation> condition_net(HiddenWidths<N> widths, std::size_t features,
                                              MLPOptions<Activation> options = {})
{
    return {widths, features, options};
}

template <class T, std::size_t N, class Activation>
MLP<T, N, Activation> make_condition_net_impl(std::size_t in, const ConditionNetSpec<N, Activation>& net,
                                              const MLPOptions<Activation>& options)
{
    return MLP<T, N, Activation>(in, net.widths, net.features, options);
}

template <class Spec, class NetSpec>
struct ConditionalSpec {
    Spec spec;
    std::size_t condition_dim;
    NetSpec net;

    static constexpr const char* label = "conditional";
    static constexpr Mapping mapping() { return mapping_of<Spec>(); }

    template <class T, class O>
    auto make_condition_net(const NetSpec& n, const O& options) const
    {
        return make_condition_net_impl<T>(condition_dim, n, options);
    }

    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        if (condition_dim == 0)
            throw_shape_error("conditional", "the condition needs at least one feature, got condition_dim 0");
        if (context.condition_dim != 0)
            throw_usage_error("conditional", "conditional(...) blocks cannot be nested: the outer one already feeds a "
                                             "condition of ", context.condition_dim, " features");
        if constexpr (std::is_same_v<NetSpec, IdentityConditionNet>) {
            context.condition_dim = condition_dim;
            auto inner = build_block<T, true>(spec, dim, context);
            context.condition_dim = 0;
            return Conditional<decltype(inner), IdentityConditionNet>(std::move(inner), {}, condition_dim);
        } else {
            if (net.features == 0) throw_shape_error("condition_net", "needs at least one output feature");
            auto o = net.options;
            o.rng = &context.rng;
            o.name = context.next_name("condition_net");
            auto condition = make_condition_net<T>(net, o);
            context.condition_dim = net.features;
            auto inner = build_block<T, true>(spec, dim, context);
            context.condition_dim = 0;
            return Conditional<decltype(inner), decltype(condition)>(std::move(inner), std::move(condition),
                                                                      condition_dim);
        }
    }
};

template <class Spec>
ConditionalSpec<Spec, IdentityConditionNet> conditional(Spec spec, std::size_t condition_dim)
{
    return {std::move(spec), condition_dim, {}};
}
template <class Spec, std::size_t N, class Activation>
ConditionalSpec<Spec, ConditionNetSpec<N, Activation>> conditional(Spec spec, std::size_t condition_dim,
                                                                   ConditionNetSpec<N, Activation> net)
{
    return {std::move(spec), condition_dim, std::move(net)};
}

}  // namespace bijou::dsl
