// Bijou: normalizing flows, invertible and conditional invertible neural networks.
// One include for users: the engine, the DSL and the block library.
#pragma once

#include <bijou/dsl/dsl.hpp>
#include <bijou/engine/blas.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/engine/nn/nn.hpp>
#include <bijou/engine/optim/optim.hpp>
#include <bijou/flows/flows.hpp>
