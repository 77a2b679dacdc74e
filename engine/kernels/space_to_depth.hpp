// Space-to-depth ("squeeze", PyTorch's pixel_unshuffle) and depth-to-space (pixel_shuffle): fixed
// permutations of a row's columns, so they are permute_columns with an order computed from the
// geometry, and a flow uses the same orders as a permutation block with a derived inverse.
//
//   space_to_depth(x, {1, 28, 28}, 2)   -> 4 x 14 x 14:  out[c r r + i r + j, h, w] = in[c, h r + i, w r + j]
//   depth_to_space(y, {4, 14, 14}, 2)   -> 1 x 28 x 28, its inverse
#pragma once

#include <memory>
#include <vector>

#include <bijou/engine/error.hpp>
#include <bijou/engine/image.hpp>
#include <bijou/engine/kernels/permute.hpp>

namespace bijou {

// The image after space-to-depth with blocks of r x r.
inline ImageShape space_to_depth_shape(ImageShape in, std::size_t r)
{
    check_image_shape("space_to_depth", in);
    if (r == 0 || in.height % r != 0 || in.width % r != 0)
        throw_shape_error("space_to_depth", "blocks of ", r, "x", r, " must tile the image ", to_string(in),
                          " exactly");
    return {in.channels * r * r, in.height / r, in.width / r};
}

// order[j] = the input column that output column j reads (permute_columns' convention).
inline std::vector<std::size_t> space_to_depth_order(ImageShape in, std::size_t r)
{
    const ImageShape out = space_to_depth_shape(in, r);
    std::vector<std::size_t> order(in.size());
    for (std::size_t c = 0; c < in.channels; ++c)
        for (std::size_t i = 0; i < r; ++i)
            for (std::size_t j = 0; j < r; ++j)
                for (std::size_t h = 0; h < out.height; ++h)
                    for (std::size_t w = 0; w < out.width; ++w)
                        order[out.index((c * r + i) * r + j, h, w)] = in.index(c, h * r + i, w * r + j);
    return order;
}

// The inverse order: depth-to-space of an image `in` (whose channels are a multiple of r r).
inline std::vector<std::size_t> depth_to_space_order(ImageShape in, std::size_t r)
{
    check_image_shape("depth_to_space", in);
    if (r == 0 || in.channels % (r * r) != 0)
        throw_shape_error("depth_to_space", "the ", in.channels, " channels of the image ", to_string(in),
                          " are not a multiple of ", r, "x", r);
    const ImageShape fine{in.channels / (r * r), in.height * r, in.width * r};
    const std::vector<std::size_t> forward = space_to_depth_order(fine, r);
    std::vector<std::size_t> inverse(forward.size());
    for (std::size_t j = 0; j < forward.size(); ++j) inverse[forward[j]] = j;
    return inverse;
}

template <Expr E>
auto space_to_depth(E&& x, ImageShape in, std::size_t r)
{
    return permute_columns(std::forward<E>(x),
                           std::make_shared<const std::vector<std::size_t>>(space_to_depth_order(in, r)));
}

template <Expr E>
auto depth_to_space(E&& x, ImageShape in, std::size_t r)
{
    return permute_columns(std::forward<E>(x),
                           std::make_shared<const std::vector<std::size_t>>(depth_to_space_order(in, r)));
}

}  // namespace bijou
