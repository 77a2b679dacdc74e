// fit: maximum-likelihood training of a flow, minimising the mean negative log-likelihood
//   L(theta) = -1/B sum_i log p_theta(x_i)      (conditional flows: -1/B sum_i log p_theta(x_i | c_i))
// over shuffled minibatches with Adam / AdamW.
//
//   auto report = fit(flow, train, {.batch_size = 256, .steps = 3000, .lr = 1e-3,
//                                   .schedule = CosineDecay{.base = 1e-3, .min_lr = 1e-5, .total_steps = 3000},
//                                   .max_grad_norm = 10, .validation = &valid, .validate_every = 100,
//                                   .patience = 5});
//   report.best_validation_nll;  report.losses;  report.median_step_ms;
//
//   fit(cinn, train_x, train_c, {...});   // a flow with loss_program(x, c): conditions row-matched to x
//
// The loop is train() (engine/optim/train.hpp), the one every trainer of the library uses: per-epoch
// shuffles by (seed, epoch), Adam(W) with the options' betas, clipping, the schedule, validation every
// validate_every steps with early stopping and restore_best, resumption at start_step. fit() adds what is
// a flow's: the training program is the mean NLL (loss_program), transform_batch edits the data rows,
// the validation loss is the mean NLL over the whole validation set (DatasetLoss: chunks of
// validation_batch_size rows, bound once, so a step and an evaluation allocate nothing), and the data
// are checked against the flow's width and support.
//
// Errors: training data whose width is not the flow's, conditions with another row count, and bad options
// throw bijou::shape_error / usage_error naming "fit" before any parameter changes (so does a start_step
// beyond the last step; a schedule that returns a negative or non-finite lr throws at that step, before
// the update). A non-finite loss or
// gradient norm ends the run (StopReason::non_finite) before it can corrupt the parameters further.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <iomanip>
#include <limits>
#include <numeric>
#include <optional>
#include <ostream>
#include <random>
#include <vector>

#include <bijou/engine/engine.hpp>
#include <bijou/engine/optim/adam.hpp>
#include <bijou/engine/optim/clip.hpp>
#include <bijou/engine/optim/train.hpp>
#include <bijou/flows/input_checks.hpp>

namespace bijou {

// A flow fit() can train: an unconditional one with loss_program(x), the mean NLL over input x.
template <class F>
concept TrainableFlow = requires(const F& flow, const Input<typename F::value_type>& x) {
    typename F::value_type;
    { flow.dim() } -> std::convertible_to<std::size_t>;
    { flow.parameters() } -> std::convertible_to<std::vector<Param<typename F::value_type>>>;
    flow.loss_program(x);
};

// A conditional flow: loss_program(x, c), the mean NLL of x given c.
template <class F>
concept ConditionalTrainableFlow =
    requires(const F& flow, const Input<typename F::value_type>& x, const Input<typename F::value_type>& c) {
        typename F::value_type;
        { flow.dim() } -> std::convertible_to<std::size_t>;
        { flow.parameters() } -> std::convertible_to<std::vector<Param<typename F::value_type>>>;
        flow.loss_program(x, c);
    };

namespace detail {

// Data of `cols` columns, and conditions with the same rows as their data.
template <class T>
void check_fit_data(const char* what, const Tensor<T>& data, std::size_t cols,
                    const dsl::Interval& support = dsl::real_line)
{
    if (data.shape()[0] == 0) throw_shape_error("fit", what, " has no rows");
    if (data.shape()[1] != cols)
        throw_shape_error("fit", "expected ", what, " with ", cols, " columns (the flow's dimension), got ", shape_of(data));
    require_within(data, support, "fit", "", what);
}
// The support a flow was made for (the real line for a trainable that has none).
template <class F>
dsl::Interval support_of(const F& flow)
{
    if constexpr (requires { flow.support(); }) return flow.support();
    else return dsl::real_line;
}
template <class T>
void check_fit_conditions(const char* what, const Tensor<T>& conditions, const Tensor<T>& data)
{
    if (conditions.shape()[0] != data.shape()[0])
        throw_shape_error("fit", "expected one ", what, " row per data row: ", shape_of(conditions), " conditions for ",
                          shape_of(data), " data (repeat a shared condition to every row)");
    if (conditions.shape()[1] == 0) throw_shape_error("fit", what, " have no columns");
    require_finite(conditions, "fit", "", what);
}

}  // namespace detail

// Trains `flow` by maximum likelihood on the rows of `train` (rows x flow.dim()).
template <TrainableFlow F>
FitReport fit(F& flow, const Tensor<typename F::value_type>& train, FitOptions<typename F::value_type> options = {})
{
    using T = typename F::value_type;
    detail::check_fit_options(options);
    // With a transform_batch hook the rows are raw (e.g. pixel counts the hook dequantises): only the
    // transformed batches lie in the flow's support, so the raw rows are checked for finite values only.
    detail::check_fit_data("training data", train, flow.dim(),
                           options.transform_batch ? dsl::real_line : detail::support_of(flow));
    std::optional<detail::Columns<T, 1>> validation;
    if (options.validation_condition)
        throw_usage_error("fit", "validation_condition is for conditional flows; this flow takes no condition");
    if (options.validation) {
        detail::check_fit_data("validation data", *options.validation, flow.dim(), detail::support_of(flow));
        validation = detail::Columns<T, 1>{{options.validation}};
    }
    const auto make = [&flow](const std::array<Input<T>, 1>& inputs) { return flow.loss_program(inputs[0]); };
    ProgramObjective objective(detail::Columns<T, 1>{{&train}}, make, options.transform_batch);
    if (!validation) return bijou::train(flow.parameters(), objective, train.shape()[0], options);
    detail::DatasetLoss<T, 1, decltype(make)> validation_nll(*validation, options.validation_batch_size, make,
                                                             options.processes);
    return bijou::train(flow.parameters(), objective, train.shape()[0], options, [&] { return validation_nll(); });
}

// Trains a conditional flow by maximum likelihood on the pairs (train_x row i, train_c row i).
template <ConditionalTrainableFlow F>
FitReport fit(F& flow, const Tensor<typename F::value_type>& train_x, const Tensor<typename F::value_type>& train_c,
              FitOptions<typename F::value_type> options = {})
{
    using T = typename F::value_type;
    detail::check_fit_options(options);
    detail::check_fit_data("training data", train_x, flow.dim(),
                           options.transform_batch ? dsl::real_line : detail::support_of(flow));
    detail::check_fit_conditions("training condition", train_c, train_x);
    if constexpr (requires { flow.condition_dim(); })
        if (train_c.shape()[1] != flow.condition_dim())
            throw_shape_error("fit", "expected training conditions with ", flow.condition_dim(),
                              " columns (the flow's condition width), got ", shape_of(train_c));
    std::optional<detail::Columns<T, 2>> validation;
    if (bool(options.validation) != bool(options.validation_condition))
        throw_usage_error("fit", "a conditional flow needs both validation and validation_condition, or neither");
    if (options.validation) {
        detail::check_fit_data("validation data", *options.validation, flow.dim(), detail::support_of(flow));
        detail::check_fit_conditions("validation condition", *options.validation_condition, *options.validation);
        if (options.validation_condition->shape()[1] != train_c.shape()[1])
            throw_shape_error("fit", "validation conditions have ", options.validation_condition->shape()[1],
                              " columns, the training conditions ", train_c.shape()[1]);
        validation = detail::Columns<T, 2>{{options.validation, options.validation_condition}};
    }
    const auto make = [&flow](const std::array<Input<T>, 2>& inputs) { return flow.loss_program(inputs[0], inputs[1]); };
    ProgramObjective objective(detail::Columns<T, 2>{{&train_x, &train_c}}, make, options.transform_batch);
    if (!validation) return bijou::train(flow.parameters(), objective, train_x.shape()[0], options);
    detail::DatasetLoss<T, 2, decltype(make)> validation_nll(*validation, options.validation_batch_size, make,
                                                             options.processes);
    return bijou::train(flow.parameters(), objective, train_x.shape()[0], options, [&] { return validation_nll(); });
}

}  // namespace bijou
