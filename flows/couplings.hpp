// The coupling blocks of the literature, each a line of DSL over dsl::coupling:
//
//   nice_coupling(net)       y_b = x_b + t(x_a)                                   (Dinh et al. 2015)
//   realnvp_coupling(net)    y_b = x_b * exp(soft_clamp(s(x_a))) + t(x_a)         (Dinh et al. 2017)
//   glow_coupling(net)       both halves in one block: an affine coupling of the second half given the
//                            first, then of the first given the (new) second     (Kingma & Dhariwal 2018)
//   gin_coupling(net)        affine with log-scales centred to sum 0: volume preserving (Sorrenson 2020)
//   spline_coupling(net)     monotonic rational-quadratic spline with K bins on [-B, B], identity outside
//                            (Durkan et al. 2019)
//   conditional_affine()     y = x * exp(soft_clamp(s(c))) + t(c), s and t a Linear map of the condition
//                            alone (inside dsl::conditional): a class-conditional prior as a bijection
//
// `net` is a conditioner spec, e.g. dsl::conditioner(hidden(64, 64)); the split defaults to halves and may
// be dsl::alternating or dsl::mask(...); the clamp defaults to 2 with the tanh form.
#pragma once

#include <bijou/dsl/conditional_transform.hpp>
#include <bijou/dsl/coupling.hpp>
#include <bijou/dsl/fused.hpp>
#include <bijou/flows/spline.hpp>
#include <bijou/flows/transforms.hpp>

namespace bijou::flows {

template <class NetSpec, class Split = dsl::Halves>
auto nice_coupling(NetSpec net, Split split = {})
{
    return dsl::coupling(std::move(split), std::move(net), additive);
}

template <class NetSpec, class Split = dsl::Halves>
auto realnvp_coupling(NetSpec net, SoftClamp clamp = {}, Split split = {})
{
    return dsl::coupling(std::move(split), std::move(net), affine_transform(clamp));
}

template <class NetSpec, class Split = dsl::Halves>
auto glow_coupling(NetSpec net, SoftClamp clamp = {}, Split split = {})
{
    auto complement = split.swapped();
    return dsl::fused(dsl::coupling(std::move(split), net, affine_transform(clamp)),
                    dsl::coupling(std::move(complement), net, affine_transform(clamp)));
}

template <class NetSpec, class Split = dsl::Halves>
auto gin_coupling(NetSpec net, SoftClamp clamp = {}, Split split = {})
{
    return dsl::coupling(std::move(split), std::move(net), gin_transform(clamp));
}

template <class NetSpec, class Split = dsl::Halves>
auto spline_coupling(NetSpec net, std::size_t bins = 8, double tail_bound = 3.0, Split split = {})
{
    return dsl::coupling(std::move(split), std::move(net), rational_quadratic(bins, tail_bound));
}

// The net defaults to one Linear layer (zero at construction: the identity); any conditioner spec works.
template <class NetSpec = dsl::ConditionerSpec<0>>
auto conditional_affine(SoftClamp clamp = {}, NetSpec net = dsl::conditioner(hidden()))
{
    return dsl::conditional_transform(std::move(net), affine_transform(clamp));
}

}  // namespace bijou::flows
