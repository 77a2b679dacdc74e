// elementwise_layer(transform, initial values): a block that applies an elementwise transform
// (dsl::elementwise) to every feature, with its parameters LEARNED per feature rather than produced by
// a conditioner. Each parameter is a 1 x D Param that broadcasts over the batch.
//
//   constexpr auto affine = dsl::elementwise([](auto x, auto s, auto t) { return x * exp(s) + t; });
//   auto layer = dsl::elementwise_layer(affine, {0.0, 0.0});                      // s = t = 0: identity
//   auto named = dsl::elementwise_layer(affine, {{"log_scale", 0.0}, {"shift", 0.0}});
//   auto squash = dsl::elementwise_layer(dsl::elementwise([](auto x) { return sigmoid(x); }));
//
//   forward    y_bj = f(x_bj; p_1j, ..., p_Nj)
//   inverse    x_bj = f^-1(y_bj; p_1j, ..., p_Nj)                  derived by the DSL
//   log-det    sum_j log|f'(x_bj)|, one value per row (B x 1)      derived by the DSL
//
// When log|f'| does not depend on x (affine: log|dy/dx| = s), it is one 1 x D row for the whole batch:
// it is summed once and repeated over the rows (sum_columns_like), so the block still reports a B x 1
// log-det. Parameter names are "<prefix>.<n>.<kind>.<name>", e.g. "flow.0.elementwise.log_scale"; an
// unnamed parameter k is called "p<k>".
//
// spec.per_channel(): on image rows (dsl/image_scope.hpp), one value of each parameter per channel,
// shared by the channel's pixels (Glow's ActNorm): the parameters are 1 x C, spread over the C H W
// features by repeat_columns, and a parameter-only log-derivative sums to H W times the channel sum.
#pragma once

#include <array>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/elementwise.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/engine/kernels/repeat_columns.hpp>

namespace bijou::dsl {

namespace detail {
// Whether log|f'| of the transform reads x (sigmoid) or only the parameters (affine), from the type of
// the derived log-derivative over placeholders.
template <class Transform, class T, std::size_t... I>
constexpr bool log_derivative_reads_x(std::index_sequence<I...>)
{
    using LogDerivative =
        decltype(std::declval<const Transform&>().log_abs_det(Placeholder<0, T>{}, Placeholder<I + 1, T>{}...));
    return depends_on_x<std::remove_cvref_t<LogDerivative>>;
}

// The per-row log-det from a per-element log-derivative: Zero stays Zero; anything else is summed over
// the columns of `like` (B x D), broadcasting a parameter-only row over the batch.
template <class L, class Like>
auto per_row_log_det(const L& log_derivative, const Like& like)
{
    if constexpr (std::is_same_v<L, Zero>)
        return Zero{};
    else
        return sum_columns_like(log_derivative, like);
}
}  // namespace detail

template <class T, class Transform, std::size_t N, bool PerChannel = false>
class ElementwiseLayer {
    static_assert(Transform::template parameter_count<T> == N,
                  "bijou dsl: elementwise_layer needs one initial value per parameter of the transform (the "
                  "lambda's arguments after x)");

public:
    using value_type = T;
    static constexpr bool log_derivative_reads_x =
        detail::log_derivative_reads_x<Transform, T>(std::make_index_sequence<N>{});

    // pixels: the features each parameter value covers (1, or H W per channel when PerChannel).
    ElementwiseLayer(std::size_t dim, Transform transform, std::array<Param<T>, N> parameters, std::size_t pixels = 1)
        : dim_(dim), pixels_(pixels), transform_(transform), parameters_(std::move(parameters))
    {
        if (pixels_ == 0 || dim % pixels_ != 0 || (!PerChannel && pixels_ != 1))
            throw_shape_error("elementwise_layer", dim, " features are not whole channels of ", pixels_, " pixels");
        for (const auto& p : parameters_)
            if (shape_of(p.value()) != Shape{1, dim / pixels_})
                throw_shape_error("elementwise_layer", "parameter '", p.name(), "' must be (1 x ", dim / pixels_,
                                  "), got ", shape_of(p.value()));
    }

    std::size_t dim() const { return dim_; }
    std::vector<Param<T>> parameters() const { return {parameters_.begin(), parameters_.end()}; }
    const Param<T>& parameter(std::size_t k) const { return parameters_.at(k); }
    const Transform& transform() const { return transform_; }

    template <class X, class C>
    auto forward(const X& x, const C&) const
    {
        return with_parameters([&](const auto&... p) {
            if constexpr (log_derivative_reads_x) {
                auto input = bind_operand(x);  // read twice: by y and by the log-det
                return Transformed{transform_.forward(input, p...),
                                   detail::per_row_log_det(transform_.log_abs_det(input, p...), input)};
            } else {
                return Transformed{transform_.forward(x, p...),
                                   detail::per_row_log_det(transform_.log_abs_det(x, p...), x)};
            }
        });
    }

    // log|det J^-1(y)| = -sum_j log|f'(x_bj)| at x = f^-1(y).
    template <class Y, class C>
    auto inverse(const Y& y, const C&) const
    {
        return with_parameters([&](const auto&... p) {
            if constexpr (log_derivative_reads_x) {
                auto x = let(transform_.inverse(y, p...));
                return Transformed{x, detail::per_row_log_det(negate_terms(transform_.log_abs_det(x, p...)), x)};
            } else {
                return Transformed{transform_.inverse(y, p...),
                                   detail::per_row_log_det(negate_terms(transform_.log_abs_det(y, p...)), y)};
            }
        });
    }

    std::size_t pixels() const { return pixels_; }

private:
    // f(p_1, ..., p_N) with the parameters as the transform reads them.
    template <class F>
    auto with_parameters(F&& f) const
    {
        return std::apply([&](const auto&... parameter) { return f(spread(parameter)...); }, parameters_);
    }

    // A parameter as the transform reads it: itself, or spread over each channel's pixels.
    auto spread(const Param<T>& p) const
    {
        if constexpr (PerChannel)
            return repeat_columns(p, pixels_);
        else
            return p;
    }

    std::size_t dim_;
    std::size_t pixels_;
    Transform transform_;
    std::array<Param<T>, N> parameters_;
};

// A parameter's name and its initial value (the same for every feature).
struct LayerParameter {
    std::string name;
    double initial = 0;
};

namespace detail {
// A layer maps its domain onto one interval whatever its learned parameters are, or it is rejected.
template <class Transform>
constexpr Composition layer_mapping()
{
    constexpr auto m = Transform::template transform_mapping<double>();
    Composition result{m.mapping, false, {}};
    if (!m.rule_failed && m.varies) {
        result.failed = true;
        result.message << "elementwise_layer: the transform maps " << m.mapping.domain
                       << " onto an interval that depends on its parameters or on values it captures (within "
                       << m.mapping.codomain
                       << "); a layer must map its domain onto one codomain for every parameter value "
                          "(declare it for a lambda with captures: dsl::elementwise<domain, codomain>(...))";
    }
    return result;
}
}  // namespace detail

template <class Transform, std::size_t N, bool PerChannel = false>
struct ElementwiseLayerSpec {
    Transform transform;
    std::array<LayerParameter, N> parameters;
    std::string kind = "elementwise";

    static constexpr const char* label = "elementwise_layer";
    static constexpr Mapping mapping()
    {
        constexpr Composition c = detail::layer_mapping<Transform>();
        static_assert(detail::accept<c.failed, c.message>());
        return c.mapping;
    }

    template <class T>
    auto build(std::size_t dim, BuildContext& context) const
    {
        if (dim == 0) throw_shape_error(kind, "needs at least one feature");
        const std::size_t pixels = PerChannel ? require_image(context, kind, dim).pixels() : 1;
        const std::string base = context.next_name(kind);
        std::array<Param<T>, N> made;
        for (std::size_t k = 0; k < N; ++k) {
            Tensor<T> initial = Tensor<T>::from_shape({1, dim / pixels});
            initial.fill(T(parameters[k].initial));
            made[k] = Param<T>(std::move(initial), base + "." + parameters[k].name);
        }
        return ElementwiseLayer<T, Transform, N, PerChannel>(dim, transform, std::move(made), pixels);
    }

    // The same layer with one parameter value per image channel.
    ElementwiseLayerSpec<Transform, N, true> per_channel() const { return {transform, parameters, kind}; }

    // The same layer under another name in the parameter names (e.g. "global_affine").
    ElementwiseLayerSpec named(std::string new_kind) const
    {
        ElementwiseLayerSpec renamed = *this;
        renamed.kind = std::move(new_kind);
        return renamed;
    }
};

// A parameterless layer (sigmoid, logit).
template <class F>
ElementwiseLayerSpec<Elementwise<F>, 0> elementwise_layer(Elementwise<F> transform)
{
    static_cast<void>(ElementwiseLayerSpec<Elementwise<F>, 0>::mapping());
    return {transform, {}};
}

// Parameters given by initial value: elementwise_layer(affine, {0.0, 0.0}); they are named p0, p1, ...
template <class F, std::size_t N>
ElementwiseLayerSpec<Elementwise<F>, N> elementwise_layer(Elementwise<F> transform, const double (&initial)[N])
{
    static_cast<void>(ElementwiseLayerSpec<Elementwise<F>, N>::mapping());
    ElementwiseLayerSpec<Elementwise<F>, N> spec{transform, {}};
    for (std::size_t k = 0; k < N; ++k) spec.parameters[k] = {"p" + std::to_string(k), initial[k]};
    return spec;
}

// Parameters given by name and initial value: elementwise_layer(affine, {{"log_scale", 0.0}, {"shift", 0.0}}).
template <class F, std::size_t N>
ElementwiseLayerSpec<Elementwise<F>, N> elementwise_layer(Elementwise<F> transform,
                                                          const LayerParameter (&parameters)[N])
{
    static_cast<void>(ElementwiseLayerSpec<Elementwise<F>, N>::mapping());
    ElementwiseLayerSpec<Elementwise<F>, N> spec{transform, {}};
    for (std::size_t k = 0; k < N; ++k) spec.parameters[k] = parameters[k];
    return spec;
}

}  // namespace bijou::dsl
