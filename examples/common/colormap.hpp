// Colour maps: a value in [0, 1] to a colour.
//
//   Rgb c = viridis(0.3);        // perceptually uniform, dark purple (0) -> blue -> green -> yellow (1)
//   Rgb g = grey_ink(0.3);       // white (0) -> black (1): ink on paper, for digit images
//
// viridis is the default colour map of matplotlib (van der Walt and Smith, 2015): its lightness rises
// monotonically and evenly, so equal steps in value look like equal steps in colour, and it stays
// readable in greyscale and to colour-blind readers. It is tabulated here at 33 evenly spaced points
// (matplotlib's 256-entry table sampled at t = k/32, rounded to 8 bits) and interpolated linearly between
// them; the interpolation stays within 2/255 of the full table in every channel.
//
// Values below 0 or above 1 are clamped; NaN maps to red, a colour in neither map, so a bad value shows
// instead of posing as a real one.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include <bijou/examples/common/image.hpp>

namespace bijou::examples {

namespace detail {

inline constexpr std::array<Rgb, 33> viridis_table = {{
    {68, 1, 84},    {71, 13, 96},   {72, 24, 106},  {72, 35, 116},  {71, 45, 123},  {69, 54, 129},  {66, 64, 134},
    {63, 73, 137},  {59, 82, 139},  {55, 90, 141},  {51, 99, 141},  {47, 106, 142}, {44, 114, 142}, {41, 122, 142},
    {38, 129, 142}, {35, 137, 142}, {33, 144, 140}, {31, 152, 139}, {31, 159, 136}, {33, 166, 133}, {40, 174, 128},
    {49, 181, 123}, {62, 188, 116}, {76, 194, 108}, {93, 201, 99},  {110, 206, 88}, {130, 211, 76}, {150, 216, 63},
    {171, 220, 50}, {192, 223, 36}, {213, 226, 26}, {234, 229, 26}, {253, 231, 37},
}};

inline std::uint8_t mix(std::uint8_t a, std::uint8_t b, double f)
{
    return std::uint8_t(std::lround(a + (double(b) - double(a)) * f));
}

}  // namespace detail

inline Rgb viridis(double t)
{
    if (std::isnan(t)) return colours::invalid;
    constexpr std::size_t last = detail::viridis_table.size() - 1;
    const double x = std::clamp(t, 0.0, 1.0) * double(last);
    const std::size_t k = std::min(std::size_t(x), last - 1);
    const double f = x - double(k);
    const Rgb a = detail::viridis_table[k], b = detail::viridis_table[k + 1];
    return {detail::mix(a.r, b.r, f), detail::mix(a.g, b.g, f), detail::mix(a.b, b.b, f)};
}

inline Rgb grey_ink(double t)
{
    if (std::isnan(t)) return colours::invalid;
    const auto level = std::uint8_t(std::lround(255.0 * (1.0 - std::clamp(t, 0.0, 1.0))));
    return {level, level, level};
}

}  // namespace bijou::examples
