// coupling(split, conditioner, transform): the coupling layer of NICE, RealNVP and Glow.
//
//   x = [x_a, x_b]                     split: x_a is left untouched
//   p = conditioner([x_a, c])          any engine function (an MLP), never inverted
//   y = [x_a, transform(x_b; p)]       transform: an invertible elementwise rule (dsl::elementwise)
//   log|det J| = sum_j log|d y_bj / d x_bj|
//
// The inverse re-runs the conditioner on y_a = x_a and applies the transform's derived inverse, so a
// coupling is invertible whatever the conditioner is. The conditioner's output has one block of
// |x_b| columns per transform parameter (two for an affine transform: s and t).
#pragma once

#include <utility>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/elementwise.hpp>
#include <bijou/engine/nn/mlp.hpp>

namespace bijou::dsl {

// Splits: which columns the conditioner reads (x_a) and which the transform changes (x_b).
// halves: x_a = the first floor(D/2) columns, x_b = the rest.
struct Halves {
    static std::size_t untouched(std::size_t dim) { return dim / 2; }
};
inline constexpr Halves halves{};

template <class T, class Net, class Transform>
class Coupling {
public:
    using value_type = T;
    static constexpr std::size_t parameter_count = Transform::template parameter_count<T>;

    Coupling(std::size_t dim, std::size_t untouched, Net net, Transform transform)
        : dim_(dim), untouched_(untouched), net_(std::move(net)), transform_(transform)
    {
    }

    std::size_t dim() const { return dim_; }
    std::vector<Param<T>> parameters() const { return net_.parameters(); }
    const Net& conditioner() const { return net_; }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        auto source = bind_operand(x);
        auto x_a = source.slice(0, untouched_);
        auto x_b = source.slice(untouched_, dim_);
        auto p = let(net_(conditioner_input(x_a, c)));
        return with_parameters(p, [&](const auto&... params) {
            auto y = concat(x_a, transform_.forward(x_b, params...));
            return Transformed{y, bind_log_det(sum_features(transform_.log_abs_det(x_b, params...)))};
        });
    }

    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        auto source = bind_operand(y);
        auto y_a = source.slice(0, untouched_);
        auto y_b = source.slice(untouched_, dim_);
        auto p = let(net_(conditioner_input(y_a, c)));
        return with_parameters(p, [&](const auto&... params) {
            auto x_b = let(transform_.inverse(y_b, params...));
            auto x = concat(y_a, x_b);
            return Transformed{x, bind_log_det(negate_terms(sum_features(transform_.log_abs_det(x_b, params...))))};
        });
    }

private:
    template <class A, class C>
    static auto conditioner_input(const A& x_a, const C& c)
    {
        if constexpr (has_condition<C>)
            return concat(x_a, c);
        else
            return x_a;
    }

    // Calls f with the conditioner output's column blocks, one per transform parameter.
    template <class P, class F>
    auto with_parameters(const P& p, F&& f) const
    {
        const std::size_t width = dim_ - untouched_;
        return [&]<std::size_t... K>(std::index_sequence<K...>) { return f(p.slice(K * width, (K + 1) * width)...); }(
            std::make_index_sequence<parameter_count>{});
    }

    std::size_t dim_;
    std::size_t untouched_;
    Net net_;
    Transform transform_;
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

template <class Split, class NetSpec, class Transform>
struct CouplingSpec {
    Split split;
    NetSpec net;
    Transform transform;

    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        if (dim < 2) throw_shape_error("coupling", "needs at least 2 dimensions to split, got ", dim);
        const std::size_t untouched = split.untouched(dim);
        constexpr std::size_t params = Transform::template parameter_count<T>;
        static_assert(params >= 1, "bijou dsl: a coupling transform needs at least one parameter besides x, "
                                   "e.g. [](auto x, auto t) { return x + t; }");
        auto name = context.next_name("coupling");
        auto net = this->net.template build<T>(untouched + context.condition_dim, params * (dim - untouched), context,
                                               name);
        return Coupling<T, decltype(net), Transform>(dim, untouched, std::move(net), transform);
    }
};

template <class Split, class NetSpec, class F>
CouplingSpec<Split, NetSpec, Elementwise<F>> coupling(Split split, NetSpec net, Elementwise<F> transform)
{
    return {split, net, transform};
}

}  // namespace bijou::dsl
