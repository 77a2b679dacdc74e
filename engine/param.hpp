// Param: a trainable parameter. It owns its value, its gradient and its optimizer state, and is read by
// expressions like any other source (a 1 x n parameter broadcasts over the batch, as a bias does).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <bijou/engine/source_ref.hpp>

namespace bijou {

template <class T>
struct ParamNode : SourceNode<T>, std::enable_shared_from_this<ParamNode<T>> {
    // Optimizer state, allocated by the optimizer that first takes this parameter.
    Tensor<T> moment1;
    Tensor<T> moment2;
    bool trainable = true;
};

template <class T>
class Param : public SourceRef<ParamNode<T>> {
    using Base = SourceRef<ParamNode<T>>;

public:
    Param() = default;

    Param(Tensor<T> initial, std::string name) : Base(make_node(std::move(initial), std::move(name))) {}

    Param(Shape shape, std::string name) : Param(Tensor<T>(xt::zeros<T>({shape.rows, shape.cols})), std::move(name)) {}

    // The handle of an existing parameter node (found by walking a graph).
    static Param from_node(std::shared_ptr<ParamNode<T>> node)
    {
        Param p;
        static_cast<Base&>(p) = Base(std::move(node));
        return p;
    }

    Tensor<T>& value() const { return this->node().value; }
    Tensor<T>& grad() const { return this->node().adjoint; }
    const std::string& name() const { return this->node().name; }
    std::size_t size() const { return this->node().value.size(); }

    void zero_grad() const { this->node().adjoint.fill(T(0)); }

    // A frozen parameter keeps its value through optimizer steps.
    void set_trainable(bool trainable) const { this->node().trainable = trainable; }
    bool trainable() const { return this->node().trainable; }

    friend bool operator==(const Param& a, const Param& b) { return a.node_ptr() == b.node_ptr(); }

private:
    static std::shared_ptr<ParamNode<T>> make_node(Tensor<T> initial, std::string name)
    {
        auto node = std::make_shared<ParamNode<T>>();
        node->name = std::move(name);
        node->needs_adjoint = true;
        node->adjoint = xt::zeros<T>(initial.shape());
        node->value = std::move(initial);
        return node;
    }
};

}  // namespace bijou
