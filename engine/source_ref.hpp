// SourceRef: the leaf expression that reads a SourceNode (an input, a parameter or a `let` binding),
// optionally restricted to a range of its columns.
//
// A column range is a view, not a copy: slicing costs nothing inside an elementwise expression, and a
// matmul reads the slice through its leading dimension.
#pragma once

#include <cstddef>
#include <limits>
#include <memory>

#include <bijou/engine/error.hpp>
#include <bijou/engine/expr.hpp>
#include <bijou/engine/simd.hpp>
#include <bijou/engine/source.hpp>

namespace bijou {

namespace detail {

// Reads a source with broadcasting: a source with one row repeats over rows (row_stride 0), a source
// with one column repeats over columns (col_stride 0).
template <class T>
struct LeafView {
    const T* value;
    T* adjoint;  // null when no gradient is wanted here
    std::size_t row_stride;
    std::size_t col_stride;

    template <class V>
    struct Cache {
        V value;
    };

    std::size_t offset(std::size_t r, std::size_t c) const { return r * row_stride + c * col_stride; }

    template <class V>
    V eval(std::size_t r, std::size_t c) const
    {
        const std::size_t at = offset(r, c);
        if constexpr (simd::is_batch<V>) {
            if (col_stride == 0) return V(value[at]);
        }
        return simd::load<V>(value + at);
    }

    template <class V>
    Cache<V> cache(std::size_t r, std::size_t c) const
    {
        return {eval<V>(r, c)};
    }

    template <class V>
    void backprop(std::size_t r, std::size_t c, V g, const Cache<V>&) const
    {
        if (adjoint == nullptr) return;
        const std::size_t at = offset(r, c);
        if constexpr (simd::is_batch<V>) {
            if (col_stride == 0) {
                adjoint[at] += simd::reduce_add(g);
                return;
            }
        }
        simd::store<V>(adjoint + at, simd::load<V>(adjoint + at) + g);
    }

    // Full-width (every row and column of the output maps to its own element) or a single scalar.
    bool contiguous(std::size_t cols) const
    {
        return (row_stride == cols && (col_stride == 1 || cols == 1)) || (row_stride == 0 && col_stride == 0);
    }
    // The same leaf indexed by the flat position (0, r * cols + c); valid when contiguous(cols).
    LeafView flatten() const
    {
        if (row_stride == 0 && col_stride == 0) return *this;
        return {value, adjoint, 0, 1};
    }
};

}  // namespace detail

template <class Node>
class SourceRef {
public:
    using value_type = typename Node::value_type;
    using node_type = Node;
    static constexpr std::size_t all = std::numeric_limits<std::size_t>::max();

    SourceRef() = default;
    explicit SourceRef(std::shared_ptr<Node> node, std::size_t col_begin = 0, std::size_t col_end = all)
        : node_(std::move(node)), col_begin_(col_begin), col_end_(col_end)
    {
    }

    Node& node() const { return *node_; }
    const std::shared_ptr<Node>& node_ptr() const { return node_; }
    bool is_slice() const { return col_begin_ != 0 || col_end_ != all; }
    std::size_t col_begin() const { return col_begin_; }

    // The referenced columns [col_begin, col_end) of the bound node.
    Shape shape() const
    {
        const Shape full = node_->shape();
        const std::size_t end = col_end_ == all ? full.cols : col_end_;
        if (col_begin_ >= end || end > full.cols)
            throw_shape_error("slice", "columns [", col_begin_, ", ", end, ") are out of range for ", node_name(),
                              full);
        return {full.rows, end - col_begin_};
    }

    // Columns [begin, end) of this reference, relative to it.
    SourceRef slice(std::size_t begin, std::size_t end) const
    {
        if (begin >= end) throw_shape_error("slice", "empty column range [", begin, ", ", end, ")");
        if (col_end_ != all && col_begin_ + end > col_end_)
            throw_shape_error("slice", "columns [", begin, ", ", end, ") exceed the ", col_end_ - col_begin_,
                              " columns of the sliced value");
        return SourceRef(node_, col_begin_ + begin, col_begin_ + end);
    }

    detail::LeafView<value_type> view() const
    {
        const Shape full = node_->shape();
        const Shape mine = shape();
        value_type* adjoint = node_->needs_adjoint ? node_->adjoint.data() + col_begin_ : nullptr;
        return {node_->value.data() + col_begin_, adjoint, full.rows == 1 ? 0 : full.cols, mine.cols == 1 ? 0u : 1u};
    }

    template <class F>
    void for_each_source(F&& f) const
    {
        f(*node_);
    }

private:
    std::string node_name() const { return node_->name.empty() ? std::string() : "'" + node_->name + "' "; }

    std::shared_ptr<Node> node_;
    std::size_t col_begin_ = 0;
    std::size_t col_end_ = all;
};

}  // namespace bijou
