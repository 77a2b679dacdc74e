// Optimizers, gradient clipping and learning-rate schedules. The training loop:
//   program.forward(); program.backward();         // gradients accumulate into the parameters
//   clip_grad_norm(optimizer.parameters(), 1.0);   // optional
//   optimizer.set_lr(schedule(optimizer.steps())); // optional
//   optimizer.step();                              // updates the parameters, then zeroes their gradients
#pragma once

#include <bijou/engine/optim/adam.hpp>
#include <bijou/engine/optim/clip.hpp>
#include <bijou/engine/optim/optimizer.hpp>
#include <bijou/engine/optim/schedule.hpp>
#include <bijou/engine/optim/sgd.hpp>
#include <bijou/engine/optim/train.hpp>
