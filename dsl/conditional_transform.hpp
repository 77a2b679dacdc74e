// conditional_transform(net, transform): an elementwise transform of every feature whose parameters
// come from the condition alone, for use inside dsl::conditional(...):
//
//   p = net(c)                   any conditioner spec (an MLP; a Linear with hidden()), never inverted
//   y = transform(x; p)          a coupling transform (dsl/coupling_transform.hpp) applied to all of x
//   log|det J| = log|det dy/dx|  the transform's
//
// Why it exists: a cINN's couplings see the condition only through their conditioners, and a likelihood
// gains little (ln 10 nats an image for ten classes) from using it, so a briefly trained class-conditional
// flow barely tells its classes apart. A last conditional affine layer, z = h exp(s(c)) + t(c), moves each
// class to its own region of latent space directly: it is Glow's class-conditional prior (a learned mean
// and scale of the latent per class) written as a bijection, so the prior stays N(0, I) and the flow
// stays one cINN z = f(x; c). The conditioner's last layer starts at zero, so the block starts as the
// identity.
//
// A condition of one row (shared by the batch) gives one row of p, which the transform broadcasts; the
// log-det, then one value, is repeated over the rows.
#pragma once

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/coupling_transform.hpp>
#include <bijou/dsl/mapping.hpp>
#include <bijou/engine/kernels/broadcast.hpp>

namespace bijou::dsl {

template <class T, class Net, class Transform>
class ConditionalTransform {
public:
    using value_type = T;

    ConditionalTransform(std::size_t dim, Net net, Transform transform)
        : dim_(dim), net_(std::move(net)), transform_(std::move(transform))
    {
    }

    std::size_t dim() const { return dim_; }
    std::vector<Param<T>> parameters() const { return net_.parameters(); }
    const Net& conditioner() const { return net_; }

    template <class X, class C>
    auto forward(const X& x, const C& c) const
    {
        require_condition<C>();
        auto source = bind_operand(x);
        auto p = let(net_(c));
        auto [y, log_det] = transform_.forward(source, p);
        return Transformed{y, per_row(log_det, source)};
    }

    template <class Y, class C>
    auto inverse(const Y& y, const C& c) const
    {
        require_condition<C>();
        auto source = bind_operand(y);
        auto p = let(net_(c));
        auto [x, log_det] = transform_.inverse(source, p);
        return Transformed{x, per_row(log_det, source)};
    }

private:
    template <class C>
    static void require_condition()
    {
        static_assert(has_condition<C>, "bijou dsl: conditional_transform reads the condition c: build it inside "
                                        "dsl::conditional(...)");
    }

    // One log-det per row of the batch, also when p (from a one-row condition) has a single row: the
    // first column of the batch stands for its row count (sum_columns_like only reads its shape).
    template <class L, class S>
    static auto per_row(const L& log_det, const S& batch)
    {
        if constexpr (std::is_same_v<L, Zero>)
            return Zero{};
        else
            return bind_log_det(sum_columns_like(log_det, batch.slice(0, 1)));
    }

    std::size_t dim_;
    Net net_;
    Transform transform_;
};

template <class NetSpec, class Transform>
struct ConditionalTransformSpec {
    NetSpec net;
    Transform transform;

    static constexpr const char* label = "conditional_transform";
    static constexpr Mapping mapping()
    {
        return checked_coupling_mapping<Transform>();
    }

    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        if (context.condition_dim == 0)
            throw_usage_error("conditional_transform", "its parameters come from the condition alone: build it "
                                                       "inside dsl::conditional(spec, condition_dim)");
        if (dim == 0) throw_shape_error("conditional_transform", "needs at least one feature, got 0");
        auto sized = for_width(transform, dim);
        auto name = context.next_name("conditional_transform");
        auto built = this->net.template build<T>(context.condition_dim, sized.parameter_columns(dim), context, name);
        return ConditionalTransform<T, decltype(built), decltype(sized)>(dim, std::move(built), std::move(sized));
    }
};

// conditional_transform(net, transform): transform is a dsl::elementwise rule or any CouplingTransform.
template <class NetSpec, class Transform>
auto conditional_transform(NetSpec net, Transform transform)
{
    auto t = as_coupling_transform(transform);
    using Spec = ConditionalTransformSpec<NetSpec, std::remove_cvref_t<decltype(t)>>;
    static_cast<void>(Spec::mapping());
    return Spec{std::move(net), t};
}

}  // namespace bijou::dsl
