// concat: join expressions side by side along the columns (the inverse of split). Operands may be any
// expressions with the same number of rows (a one-row operand broadcasts over the batch).
#pragma once

#include <array>
#include <tuple>

#include <bijou/engine/error.hpp>
#include <bijou/engine/kernels/elementwise.hpp>
#include <bijou/engine/var.hpp>

namespace bijou {

template <Expr... Parts>
struct Concat {
    static_assert(sizeof...(Parts) >= 1, "bijou: concat needs at least one operand");
    using value_type = detail::value_type_t<std::tuple_element_t<0, std::tuple<Parts...>>>;
    using T = value_type;
    static constexpr const char* name = "concat";
    static_assert((std::is_same_v<detail::value_type_t<Parts>, T> && ...),
                  "bijou: concat operands must have the same value type");

    std::tuple<Parts...> parts;

    Shape shape() const
    {
        std::size_t rows = 1, cols = 0;
        bool ok = true;
        std::apply([&](const auto&... p) { ((check_rows(p.shape(), rows, ok), cols += p.shape().cols), ...); }, parts);
        if (!ok) {
            std::string shapes;
            std::apply([&](const auto&... p) { ((shapes += to_string(p.shape()) + " "), ...); }, parts);
            throw_shape_error("concat", "operands must have the same number of rows (or 1): ", shapes);
        }
        return {rows, cols};
    }

    void forward(SourceNode<T>& out) const
    {
        const Shape o = out.shape();
        T* y = out.value.data();
        for_each_part([&](const auto& part, std::size_t offset) {
            const auto view = part.view();
            simd::for_each_block<T>(o.rows, part.shape().cols, [&]<class V>(std::size_t r, std::size_t c) {
                simd::store<V>(y + r * o.cols + offset + c, view.template eval<V>(r, c));
            });
        });
    }

    void backward(SourceNode<T>& out) const
    {
        const Shape o = out.shape();
        const T* dy = out.adjoint.data();
        for_each_part([&](const auto& part, std::size_t offset) {
            const auto view = part.view();
            simd::for_each_block<T>(o.rows, part.shape().cols, [&]<class V>(std::size_t r, std::size_t c) {
                view.backprop(r, c, simd::load<V>(dy + r * o.cols + offset + c), view.template cache<V>(r, c));
            });
        });
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        std::apply([&](const auto&... p) { (p.for_each_source(f), ...); }, parts);
    }

private:
    static void check_rows(Shape s, std::size_t& rows, bool& ok)
    {
        if (s.rows == rows || s.rows == 1) return;
        if (rows == 1)
            rows = s.rows;
        else
            ok = false;
    }

    template <class F>
    void for_each_part(F&& f) const
    {
        std::size_t offset = 0;
        std::apply([&](const auto&... p) { ((f(p, offset), offset += p.shape().cols), ...); }, parts);
    }
};

template <Expr... Parts>
auto concat(Parts&&... parts)
{
    return make_var(Concat<std::remove_cvref_t<Parts>...>{{std::forward<Parts>(parts)...}});
}

// Columns [begin, end) of an expression; a view when the expression is a source, else bound first.
template <Expr E>
auto slice(E&& e, std::size_t begin, std::size_t end)
{
    return bind_operand(std::forward<E>(e)).slice(begin, end);
}

// Split the columns into consecutive pieces of the given widths, which must add up to the width.
template <Expr E, class... Widths>
    requires(std::is_integral_v<Widths> && ...)
auto split(E&& e, Widths... widths)
{
    auto source = bind_operand(std::forward<E>(e));
    using S = decltype(source.slice(0, 1));  // a SourceRef: an Input or Param slices to its base
    std::array<S, sizeof...(Widths)> pieces;
    std::size_t begin = 0, i = 0;
    ((pieces[i++] = source.slice(begin, begin + std::size_t(widths)), begin += std::size_t(widths)), ...);
    return pieces;
}

}  // namespace bijou
