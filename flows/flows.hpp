// The block library and the Flow model.
#pragma once

#include <bijou/flows/actnorm.hpp>
#include <bijou/flows/all_in_one.hpp>
#include <bijou/flows/couplings.hpp>
#include <bijou/flows/fit.hpp>
#include <bijou/flows/flow.hpp>
#include <bijou/flows/inn.hpp>
#include <bijou/flows/invertible_conv1x1.hpp>
#include <bijou/flows/lu_linear.hpp>
#include <bijou/flows/mmd.hpp>
#include <bijou/flows/precompiled.hpp>
#include <bijou/flows/spline.hpp>
#include <bijou/flows/squash.hpp>
#include <bijou/flows/transforms.hpp>
