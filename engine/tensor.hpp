// Tensor and Shape: the engine's array type and its 2-D shape.
//
// Every value in a program is a row-major matrix, batch x features. A row vector (1 x n) broadcasts
// over the batch, a column vector (B x 1) over the features, and a 1 x 1 matrix over both.
#pragma once

#include <cstddef>
#include <string>

#include <xtensor/xtensor.hpp>

namespace bijou {

template <class T>
using Tensor = xt::xtensor<T, 2>;

struct Shape {
    std::size_t rows = 0;
    std::size_t cols = 0;

    constexpr std::size_t size() const { return rows * cols; }
    friend constexpr bool operator==(Shape, Shape) = default;
};

inline std::string to_string(Shape s)
{
    return "(" + std::to_string(s.rows) + " x " + std::to_string(s.cols) + ")";
}

template <class T>
Shape shape_of(const Tensor<T>& t)
{
    return {t.shape()[0], t.shape()[1]};
}

}  // namespace bijou
