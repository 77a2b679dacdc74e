// coupling(split, conditioner, transform): the coupling layer of NICE, RealNVP, Glow and neural spline
// flows.
//
//   x = [x_a, x_b]                     split: x_a is left untouched
//   p = conditioner([x_a, c])          any engine function (an MLP), never inverted
//   y = [x_a, transform(x_b; p)]       an invertible transform of x_b given p (dsl/coupling_transform.hpp)
//   log|det J| = log|det d y_b / d x_b|
//
// The inverse re-runs the conditioner on y_a = x_a and applies the transform's inverse, so a coupling is
// invertible whatever the conditioner is. With a condition c (a conditional flow), c is appended to the
// conditioner's input in both directions.
#pragma once

#include <memory>
#include <utility>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/coupling_transform.hpp>
#include <bijou/dsl/split.hpp>
#include <bijou/dsl/conditioner.hpp>
#include <bijou/engine/nn/mlp.hpp>

namespace bijou::dsl {

template <class T, class Split, class Net, class Transform>
class Coupling {
public:
    using value_type = T;
    using Layout = decltype(std::declval<const Split&>().layout(std::size_t{}));

    Coupling(std::size_t dim, Layout layout, Net net, Transform transform)
        : dim_(dim), layout_(std::move(layout)), net_(std::move(net)), transform_(std::move(transform))
    {
        if constexpr (!Split::contiguous) {
            std::vector<std::size_t> inverse(dim);
            for (std::size_t j = 0; j < dim; ++j) inverse[layout_.order[j]] = j;
            gather_ = std::make_shared<const std::vector<std::size_t>>(layout_.order);
            scatter_ = std::make_shared<const std::vector<std::size_t>>(std::move(inverse));
        }
    }

    std::size_t dim() const { return dim_; }
    std::vector<Param<T>> parameters() const { return net_.parameters(); }
    const Net& conditioner() const { return net_; }
    const Transform& transform() const { return transform_; }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        return split_apply(x, [&](const auto& x_a, const auto& x_b) {
            auto p = let(net_(conditioner_input(x_a, c)));
            return transform_.forward(x_b, p);
        });
    }

    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        return split_apply(y, [&](const auto& y_a, const auto& y_b) {
            auto p = let(net_(conditioner_input(y_a, c)));
            return transform_.inverse(y_b, p);
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

    // Splits v into (untouched, transformed), applies f to get the transformed part and its log-det, and
    // reassembles the features in their original order.
    template <class V, class F>
    auto split_apply(const V& v, F&& f) const
    {
        if constexpr (Split::contiguous) {
            auto source = bind_operand(v);
            auto a = source.slice(layout_.begin, layout_.end);
            if constexpr (Split::untouched_first) {
                auto [b_out, log_det] = f(a, source.slice(layout_.end, dim_));
                return Transformed{concat(a, b_out), bind_log_det(log_det)};
            } else {
                auto [b_out, log_det] = f(a, source.slice(0, layout_.begin));
                return Transformed{concat(b_out, a), bind_log_det(log_det)};
            }
        } else {
            auto gathered = permute_columns(v, gather_);
            auto a = gathered.slice(0, layout_.untouched);
            auto b = gathered.slice(layout_.untouched, dim_);
            auto [b_out, log_det] = f(a, b);
            return Transformed{permute_columns(concat(a, b_out), scatter_), bind_log_det(log_det)};
        }
    }

    std::size_t dim_;
    Layout layout_;
    Net net_;
    Transform transform_;
    std::shared_ptr<const std::vector<std::size_t>> gather_, scatter_;
};

template <class Split, class NetSpec, class Transform>
struct CouplingSpec {
    Split split;
    NetSpec net;
    Transform transform;

    static constexpr const char* label = "coupling";
    static constexpr Mapping mapping()
    {
        return checked_coupling_mapping<Transform>();
    }

    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        if (dim < 2) throw_shape_error("coupling", "needs at least 2 features to split, got ", dim);
        if constexpr (requires { NetSpec::reads_image; } && !Split::contiguous)
            throw_usage_error("coupling", "a conv_conditioner reads whole channels of an image: split it by channels "
                                          "(dsl::halves), not by a gathered split (alternating, mask)");
        auto layout = [&] {  // a split that knows image channels reads the geometry (dsl/split.hpp)
            if constexpr (requires { split.layout(dim, context); }) return split.layout(dim, context);
            else return split.layout(dim);
        }();
        const std::size_t untouched = [&] {
            if constexpr (Split::contiguous) return layout.end - layout.begin;
            else return layout.untouched;
        }();
        auto sized = for_width(transform, dim - untouched);
        auto name = context.next_name("coupling");
        auto net = this->net.template build<T>(untouched + context.condition_dim,
                                               sized.parameter_columns(dim - untouched), context, name);
        return Coupling<T, Split, decltype(net), decltype(sized)>(dim, std::move(layout), std::move(net),
                                                                   std::move(sized));
    }
};

// coupling(split, net, transform): transform is a dsl::elementwise rule or any CouplingTransform.
template <class Split, class NetSpec, class Transform>
auto coupling(Split split, NetSpec net, Transform transform)
{
    static_assert(Conditioner<NetSpec>,
                  "coupling(split, net, transform): net is not a conditioner spec; use dsl::conditioner(hidden(...)), "
                  "dsl::conv_conditioner(...) or a spec with build<T>(in, out, context, name) returning a net "
                  "callable on an expression, with parameters() (dsl/conditioner.hpp)");
    auto t = as_coupling_transform(transform);
    using Spec = CouplingSpec<Split, NetSpec, std::remove_cvref_t<decltype(t)>>;
    static_cast<void>(Spec::mapping());
    return Spec{std::move(split), std::move(net), t};
}

}  // namespace bijou::dsl
