// Splits: which features a coupling leaves untouched (x_a, read by the conditioner) and which it
// transforms (x_b). Every split has `swapped()`, its complement, so two couplings with a split and its
// complement transform every feature once (Glow's coupling block does exactly that).
//
//   halves        x_a = the first floor(D/2) features          (contiguous: plain column slices);
//                 on image rows (inside dsl::image), the first floor(C/2) channels, so that a
//                 convolutional conditioner reads whole channels
//   alternating   x_a = the features at even indices            (gathered by a column permutation)
//   mask(m)       x_a = the features where m is true            (gathered)
#pragma once

#include <cstddef>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/engine/error.hpp>

namespace bijou::dsl {

// A split into two contiguous column ranges: x_a = [begin, end) is a prefix or a suffix of the features.
struct ContiguousLayout {
    std::size_t begin, end;
};

// A split by an arbitrary subset: `order` lists the untouched features first, then the transformed ones.
struct GatheredLayout {
    std::vector<std::size_t> order;
    std::size_t untouched;
};

namespace detail {
inline void check_split_sizes(const char* split, std::size_t dim, std::size_t untouched)
{
    if (untouched == 0 || untouched == dim)
        throw_shape_error("coupling", "the ", split, " split of ", dim, " features leaves ", untouched,
                          " untouched: a coupling needs at least one feature on each side");
}
}  // namespace detail

// Swapped: x_a = the last ceil(D/2) features. Which side is untouched is part of the type, since it
// decides the order in which the coupling concatenates its output.
template <bool Swapped>
struct HalvesSplit {
    static constexpr bool contiguous = true;
    static constexpr bool untouched_first = !Swapped;

    constexpr HalvesSplit<!Swapped> swapped() const { return {}; }
    ContiguousLayout layout(std::size_t dim) const
    {
        const std::size_t half = dim / 2;
        const ContiguousLayout layout = Swapped ? ContiguousLayout{half, dim} : ContiguousLayout{0, half};
        detail::check_split_sizes("halves", dim, layout.end - layout.begin);
        return layout;
    }
    // Image rows split between channels: x_a = the first floor(C/2) channels (Swapped: the last ceil(C/2)).
    ContiguousLayout layout(std::size_t dim, const BuildContext& context) const
    {
        if (!context.image || context.image->size() != dim) return layout(dim);
        const ImageShape image = *context.image;
        if (image.channels < 2)
            throw_shape_error("coupling", "the halves split of the image ", to_string(image),
                              " needs at least 2 channels (squeeze it first)");
        const std::size_t half = (image.channels / 2) * image.pixels();
        return Swapped ? ContiguousLayout{half, dim} : ContiguousLayout{0, half};
    }
};
using Halves = HalvesSplit<false>;
inline constexpr Halves halves{};

namespace detail {
inline GatheredLayout gather(const char* split, const std::vector<bool>& untouched)
{
    GatheredLayout layout{{}, 0};
    for (std::size_t j = 0; j < untouched.size(); ++j)
        if (untouched[j]) layout.order.push_back(j);
    layout.untouched = layout.order.size();
    for (std::size_t j = 0; j < untouched.size(); ++j)
        if (!untouched[j]) layout.order.push_back(j);
    check_split_sizes(split, untouched.size(), layout.untouched);
    return layout;
}
}  // namespace detail

struct Alternating {
    static constexpr bool contiguous = false;
    bool swap = false;

    constexpr Alternating swapped() const { return {!swap}; }
    GatheredLayout layout(std::size_t dim) const
    {
        std::vector<bool> untouched(dim);
        for (std::size_t j = 0; j < dim; ++j) untouched[j] = (j % 2 == 0) != swap;
        return detail::gather("alternating", untouched);
    }
};
inline constexpr Alternating alternating{};

struct Mask {
    static constexpr bool contiguous = false;
    std::vector<bool> untouched;

    Mask swapped() const
    {
        Mask complement{untouched};
        complement.untouched.flip();
        return complement;
    }
    GatheredLayout layout(std::size_t dim) const
    {
        if (untouched.size() != dim)
            throw_shape_error("coupling", "a mask of ", untouched.size(), " entries for ", dim, " features");
        return detail::gather("mask", untouched);
    }
};

// mask({1, 0, 1, 0}): true (or 1) marks an untouched feature.
inline Mask mask(std::vector<bool> untouched) { return Mask{std::move(untouched)}; }

}  // namespace bijou::dsl
