// The DSL: invertible blocks written once, inverse and log-det derived at compile time.
#pragma once

#include <bijou/dsl/bijection.hpp>
#include <bijou/dsl/chain.hpp>
#include <bijou/dsl/check.hpp>
#include <bijou/dsl/conditional.hpp>
#include <bijou/dsl/conditional_transform.hpp>
#include <bijou/dsl/conv_conditioner.hpp>
#include <bijou/dsl/coupling.hpp>
#include <bijou/dsl/coupling_transform.hpp>
#include <bijou/dsl/data_init.hpp>
#include <bijou/dsl/erased_block.hpp>
#include <bijou/dsl/elementwise.hpp>
#include <bijou/dsl/elementwise_layer.hpp>
#include <bijou/dsl/factor_out.hpp>
#include <bijou/dsl/fused.hpp>
#include <bijou/dsl/image_scope.hpp>
#include <bijou/dsl/inverse.hpp>
#include <bijou/dsl/permutation.hpp>
#include <bijou/dsl/seq.hpp>
#include <bijou/dsl/split.hpp>
#include <bijou/dsl/squeeze.hpp>
