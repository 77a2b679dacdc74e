// The engine: reverse-mode automatic differentiation over xtensor arrays, with the graph as a type.
#pragma once

#include <bijou/engine/checkpoint.hpp>
#include <bijou/engine/error.hpp>
#include <bijou/engine/input.hpp>
#include <bijou/engine/kernels/broadcast.hpp>
#include <bijou/engine/kernels/concat.hpp>
#include <bijou/engine/kernels/elementwise.hpp>
#include <bijou/engine/kernels/logsumexp.hpp>
#include <bijou/engine/kernels/matmul.hpp>
#include <bijou/engine/kernels/matrix_inverse.hpp>
#include <bijou/engine/kernels/permute.hpp>
#include <bijou/engine/kernels/reduce.hpp>
#include <bijou/engine/kernels/rq_spline.hpp>
#include <bijou/engine/let.hpp>
#include <bijou/engine/ops/activation.hpp>
#include <bijou/engine/ops/arithmetic.hpp>
#include <bijou/engine/ops/exponential.hpp>
#include <bijou/engine/ops/inverses.hpp>
#include <bijou/engine/ops/piecewise.hpp>
#include <bijou/engine/ops/soft_clamp.hpp>
#include <bijou/engine/ops/trigonometric.hpp>
#include <bijou/engine/param.hpp>
#include <bijou/engine/program.hpp>
#include <bijou/engine/tensor.hpp>
