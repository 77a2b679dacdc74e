// The block library and the Flow model.
#pragma once

#include <bijou/flows/couplings.hpp>
#include <bijou/flows/fit.hpp>
#include <bijou/flows/flow.hpp>
#include <bijou/flows/spline.hpp>
#include <bijou/flows/transforms.hpp>
