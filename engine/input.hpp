// Input: a batch of data fed to a program. Its row count is the batch size the program is bound to;
// its column count is fixed when the input is declared.
#pragma once

#include <algorithm>
#include <memory>
#include <string>

#include <bijou/engine/source_ref.hpp>

namespace bijou {

template <class T>
struct InputNode : SourceNode<T> {
    std::size_t cols = 0;
};

struct InputOptions {
    // Ask for d(output)/d(input), e.g. to craft adversarial examples or to chain programs.
    bool requires_grad = false;
};

template <class T>
class Input : public SourceRef<InputNode<T>> {
    using Base = SourceRef<InputNode<T>>;

public:
    Input() = default;

    explicit Input(std::size_t cols, std::string name = "input", InputOptions options = {})
        : Base(make_node(cols, std::move(name), options))
    {
    }

    std::size_t cols() const { return this->node().cols; }
    const std::string& name() const { return this->node().name; }

    // Copies a batch into the bound buffer; no allocation. The batch size must match the binding.
    template <class E>
    void set(const E& data) const
    {
        auto& node = this->node();
        const Shape expected = node.shape();
        if (data.dimension() != 2 || data.shape()[0] != expected.rows || data.shape()[1] != expected.cols)
            throw_shape_error("input '" + node.name + "'", "expected a batch of shape ", expected, ", got ",
                              describe(data), expected.rows == 0 ? " (bind the program to a batch size first)" : "");
        std::copy(data.begin(), data.end(), node.value.begin());
    }

    Tensor<T>& value() const { return this->node().value; }
    Tensor<T>& grad() const { return this->node().adjoint; }

private:
    template <class E>
    static std::string describe(const E& data)
    {
        std::string s = "(";
        for (std::size_t i = 0; i < data.dimension(); ++i) s += (i ? " x " : "") + std::to_string(data.shape()[i]);
        return s + ")";
    }

    static std::shared_ptr<InputNode<T>> make_node(std::size_t cols, std::string name, InputOptions options)
    {
        if (cols == 0) throw_shape_error("input '" + name + "'", "an input needs at least one column");
        auto node = std::make_shared<InputNode<T>>();
        node->cols = cols;
        node->name = std::move(name);
        node->needs_adjoint = options.requires_grad;
        return node;
    }
};

}  // namespace bijou
