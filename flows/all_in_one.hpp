// all_in_one(net): the all-in-one block of FrEIA (Ardizzone et al.), three maps in one block:
//   1. an affine coupling with a soft-clamped log-scale (RealNVP),
//   2. a global affine map: a learned per-feature scale (soft-clamped log-scale) and offset, which
//      lets the flow rescale features the couplings leave untouched,
//   3. a fixed random permutation, so the next block's coupling mixes other features.
// Each part is a library block, so the inverse and log-det come from them.
#pragma once

#include <bijou/dsl/permutation.hpp>
#include <bijou/dsl/fused.hpp>
#include <bijou/flows/actnorm.hpp>
#include <bijou/flows/couplings.hpp>

namespace bijou::flows {

template <class NetSpec, class Split = dsl::Halves>
auto all_in_one(NetSpec net, SoftClamp clamp = {}, Split split = {})
{
    return dsl::fused(realnvp_coupling(std::move(net), clamp, std::move(split)), global_affine(clamp),
                    dsl::permute_random());
}

}  // namespace bijou::flows
