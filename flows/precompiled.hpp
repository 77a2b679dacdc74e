// The precompiled part of Bijou: the flow types and the library's common blocks, compiled once into the
// library bijou::precompiled instead of in every translation unit that uses them.
//
// Block boundaries (docs/decisions.md, entry 18) make this possible: a chain-based flow has one type per
// scalar type whatever its blocks are (Flow<T, Chain<T>>, and conditional flows with no or a one-layer
// condition network), so its programs, fit() and the INN loss compile once; and each block is compiled as
// its own small program behind ErasedBlock, so a block type used by many programs compiles once too.
//
// A program that links bijou::precompiled gets BIJOU_PRECOMPILED defined, and <bijou/bijou.hpp> then
// declares everything listed here `extern template`: the compiler uses the library's copies instead of
// instantiating its own. Anything not listed (a block of your own, another conditioner) compiles in your
// translation unit as before; it can be given a translation unit of its own with BIJOU_INSTANTIATE_BLOCK
// (dsl/erased_block.hpp). The library is compiled with the project's flags (-O3 -march=native), so link
// it only into programs for the machine it was built on.
//
// Which blocks: the ones the examples and tests share (measured from the object files of a full build:
// 96 of 152 block instantiations were duplicates), with the default relu conditioners of one and two
// hidden layers. A block type is identified by its spec's type, so the widths do not matter:
// realnvp_coupling(conditioner(hidden(64, 64))) and (hidden(8, 8)) are the same block type.
#pragma once

#include <bijou/dsl/chain.hpp>
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/coupling.hpp>
#include <bijou/dsl/erased_block.hpp>
#include <bijou/dsl/inverse.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/flows/actnorm.hpp>
#include <bijou/flows/all_in_one.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/fit.hpp>
#include <bijou/flows/flow.hpp>
#include <bijou/flows/inn.hpp>
#include <bijou/flows/lu_linear.hpp>
#include <bijou/flows/squash.hpp>

namespace bijou::precompiled {

template <std::size_t N, class Activation = activation::relu>
using net = dsl::ConditionerSpec<N, Activation>;

using realnvp_1 = decltype(flows::realnvp_coupling(net<1>{}));
using realnvp_2 = decltype(flows::realnvp_coupling(net<2>{}));
using realnvp_1_tanh = decltype(flows::realnvp_coupling(net<1, activation::tanh>{}));
using nice_1 = decltype(flows::nice_coupling(net<1>{}));
using gin_1 = decltype(flows::gin_coupling(net<1>{}));
using spline_1 = decltype(flows::spline_coupling(net<1>{}));
using spline_2 = decltype(flows::spline_coupling(net<2>{}));
using glow_1 = decltype(flows::glow_coupling(net<1>{}));
using glow_2 = decltype(flows::glow_coupling(net<2>{}));
using all_in_one_2 = decltype(flows::all_in_one(net<2>{}));
using inverse_realnvp_1 = decltype(dsl::inverse(std::declval<realnvp_1>()));
using actnorm = flows::ActNormSpec<>;
using lu_linear = flows::LULinearSpec;
using permute_random = dsl::RandomPermutationSpec;
using global_affine = decltype(flows::global_affine());
using logit = decltype(flows::logit_layer());

template <class T>
using chain_flow = Flow<T, dsl::Chain<T>>;
template <class T>
using conditional_flow = Flow<T, dsl::Conditional<dsl::Chain<T>, dsl::IdentityConditionNet>>;
template <class T>
using conditional_flow_net = Flow<T, dsl::Conditional<dsl::Chain<T>, MLP<T, 1, activation::relu>>>;

}  // namespace bijou::precompiled

// X(T, Spec, Conditional) for each precompiled block; one list per translation unit of the library.
#define BIJOU_PRECOMPILED_LAYERS_FLOAT(X)                                                                     \
    X(float, bijou::precompiled::permute_random, false) X(float, bijou::precompiled::permute_random, true)    \
    X(float, bijou::precompiled::actnorm, false) X(float, bijou::precompiled::actnorm, true)                  \
    X(float, bijou::precompiled::lu_linear, false) X(float, bijou::precompiled::lu_linear, true)              \
    X(float, bijou::precompiled::logit, false) X(float, bijou::precompiled::logit, true)
#define BIJOU_PRECOMPILED_COUPLINGS_FLOAT(X)                                                                  \
    X(float, bijou::precompiled::realnvp_1, false) X(float, bijou::precompiled::realnvp_1, true)              \
    X(float, bijou::precompiled::realnvp_2, false) X(float, bijou::precompiled::realnvp_2, true)              \
    X(float, bijou::precompiled::spline_2, false) X(float, bijou::precompiled::spline_2, true)
#define BIJOU_PRECOMPILED_COMPOSITES_FLOAT(X)                                                                 \
    X(float, bijou::precompiled::glow_2, false) X(float, bijou::precompiled::glow_2, true)                    \
    X(float, bijou::precompiled::all_in_one_2, true)
#define BIJOU_PRECOMPILED_LAYERS_DOUBLE(X)                                                                    \
    X(double, bijou::precompiled::permute_random, false) X(double, bijou::precompiled::permute_random, true)  \
    X(double, bijou::precompiled::actnorm, false) X(double, bijou::precompiled::actnorm, true)                \
    X(double, bijou::precompiled::lu_linear, false) X(double, bijou::precompiled::lu_linear, true)            \
    X(double, bijou::precompiled::global_affine, false) X(double, bijou::precompiled::global_affine, true)
#define BIJOU_PRECOMPILED_COUPLINGS_DOUBLE(X)                                                                 \
    X(double, bijou::precompiled::realnvp_1, false) X(double, bijou::precompiled::realnvp_1, true)            \
    X(double, bijou::precompiled::realnvp_1_tanh, true) X(double, bijou::precompiled::nice_1, false)          \
    X(double, bijou::precompiled::nice_1, true) X(double, bijou::precompiled::inverse_realnvp_1, false)       \
    X(double, bijou::precompiled::inverse_realnvp_1, true)
#define BIJOU_PRECOMPILED_SPLINES_DOUBLE(X)                                                                   \
    X(double, bijou::precompiled::spline_1, false) X(double, bijou::precompiled::spline_1, true)              \
    X(double, bijou::precompiled::gin_1, false) X(double, bijou::precompiled::gin_1, true)                    \
    X(double, bijou::precompiled::glow_1, false)

#define BIJOU_PRECOMPILED_BLOCKS(X)                                                                           \
    BIJOU_PRECOMPILED_LAYERS_FLOAT(X) BIJOU_PRECOMPILED_COUPLINGS_FLOAT(X) BIJOU_PRECOMPILED_COMPOSITES_FLOAT(X) \
    BIJOU_PRECOMPILED_LAYERS_DOUBLE(X) BIJOU_PRECOMPILED_COUPLINGS_DOUBLE(X) BIJOU_PRECOMPILED_SPLINES_DOUBLE(X)

// The flows, their maximum-likelihood fit, and the INN's fit, for one scalar type. `extern` or nothing.
#define BIJOU_PRECOMPILED_FLOWS(EXTERN, T)                                                                    \
    EXTERN template class bijou::Flow<T, bijou::dsl::Chain<T>>;                                               \
    EXTERN template class bijou::Flow<T, bijou::dsl::Conditional<bijou::dsl::Chain<T>, bijou::dsl::IdentityConditionNet>>; \
    EXTERN template class bijou::Flow<T, bijou::dsl::Conditional<bijou::dsl::Chain<T>, bijou::MLP<T, 1, bijou::activation::relu>>>; \
    EXTERN template bijou::FitReport bijou::fit<bijou::precompiled::chain_flow<T>>(                           \
        bijou::precompiled::chain_flow<T>&, const bijou::Tensor<T>&, bijou::FitOptions<T>);                  \
    EXTERN template bijou::FitReport bijou::fit<bijou::precompiled::conditional_flow<T>>(                     \
        bijou::precompiled::conditional_flow<T>&, const bijou::Tensor<T>&, const bijou::Tensor<T>&,          \
        bijou::FitOptions<T>);                                                                                \
    EXTERN template bijou::FitReport bijou::fit<bijou::precompiled::conditional_flow_net<T>>(                 \
        bijou::precompiled::conditional_flow_net<T>&, const bijou::Tensor<T>&, const bijou::Tensor<T>&,      \
        bijou::FitOptions<T>);                                                                                \
    EXTERN template bijou::flows::InnFitReport bijou::flows::fit<T, bijou::dsl::Chain<T>>(                    \
        bijou::flows::INN<T, bijou::dsl::Chain<T>>&, const bijou::Tensor<T>&, const bijou::Tensor<T>&,       \
        bijou::flows::InnFitOptions<T>);

#if defined(BIJOU_PRECOMPILED) && !defined(BIJOU_PRECOMPILED_BUILD)
BIJOU_PRECOMPILED_BLOCKS(BIJOU_EXTERN_BLOCK)
BIJOU_PRECOMPILED_FLOWS(extern, float)
BIJOU_PRECOMPILED_FLOWS(extern, double)
#endif
