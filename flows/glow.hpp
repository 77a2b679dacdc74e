// Glow (Kingma & Dhariwal 2018) for images, in a few lines of DSL:
//
//   glow_step(hidden)     channel_actnorm, invertible_conv1x1, then an affine coupling on channel halves
//                         (log-scale clamp 2 tanh(s / 2)) whose conditioner is
//                         conv3x3 (C/2 -> hidden) - ReLU - conv1x1 (hidden -> hidden) - ReLU - conv3x3 (-> C),
//                         last layer zero (dsl/conv_conditioner.hpp)
//   multiscale_glow<L>(image, K, hidden)
//                         L levels, each a squeeze and K steps; after every level but the last, half of
//                         the channels are factored out (dsl/factor_out.hpp) and the next level
//                         transforms the rest
//
//   auto flow = make_flow<float>(784, flows::multiscale_glow<2>({1, 28, 28}, 8, 64));
//
// The levels are a template argument because each level wraps the next (its spec's type nests); the
// blocks built are the same few types at every depth, so a deeper flow costs no extra compile time.
#pragma once

#include <bijou/dsl/conv_conditioner.hpp>
#include <bijou/dsl/factor_out.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/dsl/squeeze.hpp>
#include <bijou/flows/actnorm.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/invertible_conv1x1.hpp>

namespace bijou::flows {

inline auto glow_step(std::size_t hidden, std::size_t kernel = 3)
{
    return dsl::seq(channel_actnorm(), invertible_conv1x1(), realnvp_coupling(dsl::conv_conditioner(hidden, kernel)));
}

namespace detail {
template <std::size_t Level, std::size_t Levels>
auto glow_level(std::size_t steps, std::size_t hidden)
{
    if constexpr (Level == Levels)
        return dsl::squeeze(dsl::repeat(steps, glow_step(hidden)));
    else
        return dsl::squeeze(
            dsl::seq(dsl::repeat(steps, glow_step(hidden)), dsl::factor_out(glow_level<Level + 1, Levels>(steps, hidden))));
}
}  // namespace detail

template <std::size_t Levels>
auto multiscale_glow(ImageShape image, std::size_t steps_per_level, std::size_t hidden)
{
    static_assert(Levels >= 1, "bijou: a multi-scale Glow needs at least one level");
    if (steps_per_level == 0) throw_usage_error("multiscale_glow", "needs at least one step per level");
    return dsl::image(image, detail::glow_level<1, Levels>(steps_per_level, hidden));
}

}  // namespace bijou::flows
