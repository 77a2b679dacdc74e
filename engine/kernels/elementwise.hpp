// Elementwise: the kernel of `let`. Evaluates an expression tree into the output buffer in one pass
// (vectorised with xsimd), and in the backward pass pushes the output adjoint through the same tree,
// reusing the forward intermediates cached per SIMD block rather than recomputing them per leaf.
#pragma once

#include <bijou/engine/expr.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/source.hpp>

namespace bijou {

namespace detail {
// Calls body.template operator()<V>(view, r, c, at) over a rows x cols output, `at` being the flat
// output index. When every operand is full-width or scalar the block is walked as one flat row, so
// narrow outputs (a batch of 2-D points) still fill SIMD registers.
template <class T, class View, class Body>
void for_each_output_block(const View& view, Shape out, Body&& body)
{
    if (out.rows > 1 && view.contiguous(out.cols)) {
        const auto flat = view.flatten();
        simd::for_each_block<T>(1, out.size(), [&]<class V>(std::size_t, std::size_t i) {
            body.template operator()<V>(flat, 0, i, i);
        });
    } else {
        simd::for_each_block<T>(out.rows, out.cols, [&]<class V>(std::size_t r, std::size_t c) {
            body.template operator()<V>(view, r, c, r * out.cols + c);
        });
    }
}
}  // namespace detail

template <Expr E>
struct Elementwise {
    using value_type = detail::value_type_t<E>;
    static constexpr const char* name = "let";
    E expr;

    Shape shape() const { return expr.shape(); }

    void forward(SourceNode<value_type>& out) const
    {
        value_type* y = out.value.data();
        detail::for_each_output_block<value_type>(
            expr.view(), out.shape(), [&]<class V>(const auto& view, std::size_t r, std::size_t c, std::size_t at) {
                simd::store<V>(y + at, view.template eval<V>(r, c));
            });
    }

    void backward(SourceNode<value_type>& out) const
    {
        const value_type* dy = out.adjoint.data();
        detail::for_each_output_block<value_type>(
            expr.view(), out.shape(), [&]<class V>(const auto& view, std::size_t r, std::size_t c, std::size_t at) {
                view.backprop(r, c, simd::load<V>(dy + at), view.template cache<V>(r, c));
            });
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        expr.for_each_source(f);
    }
};

}  // namespace bijou
