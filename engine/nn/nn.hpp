// Neural-network building blocks over the engine: initialisers, Linear and convolution layers and MLPs
// (the conditioners of coupling blocks).
#pragma once

#include <bijou/engine/nn/conv2d.hpp>
#include <bijou/engine/nn/init.hpp>
#include <bijou/engine/nn/linear.hpp>
#include <bijou/engine/nn/mlp.hpp>
