// INN: an invertible network for an ill-posed inverse problem y = s(x) (Ardizzone et al., "Analyzing
// Inverse Problems with Invertible Neural Networks", ICLR 2019).
//
// One bijection f of a working width W maps the parameters x, padded to W, to the observation y, a
// latent z that carries what y does not say about x, and a padding that should stay zero:
//
//   f([x, pad_x]) = [y, z, pad_yz]           x_dim + pad_x  =  W  =  y_dim + z_dim + pad_yz
//
// Trained so that f predicts y and the z it produces is N(0, I) and independent of y, the inverse
// f^-1([y*, z, 0]) with z ~ N(0, I) samples the posterior p(x | y*). Forward and inverse are the same
// DSL flow; the inverse is derived, so gradients reach its parameters through both directions.
//
//   auto inn = make_inn<float>({.x_dim = 2, .y_dim = 8, .z_dim = 2, .width = 10},
//                              dsl::repeat(4, dsl::seq(flows::glow_coupling(dsl::conditioner(hidden(64, 64))),
//                                                      dsl::permute_random())));
//   auto report = fit(inn, train_x, train_y, {.batch_size = 500, .steps = 2000, .lr = 1e-3});
//   Tensor<float> x_samples = inn.sample_posterior(y_star, 4000, rng);   // 4000 x x_dim
//
// The bidirectional loss (InnLoss; weights and noise levels in InnLossOptions), per minibatch of (x, y):
//   L_y    = mean_i |y_pred_i - y_i|^2                                       supervised forward fit
//   L_z    = MMD([stop_gradient(y_pred), z_pred], [y, z_prior])              latent: z ~ N(0, I), z independent
//            of y; the gradient to y_pred is stopped, so that only L_y trains the prediction of y
//   L_x    = MMD(f^-1([y, z_prior, pad])_x, x)                               the inverse's samples match the
//            data; the gradient flows through the inverse pass. Its weight may ramp up (x_ramp_*)
//   L_pad  = mean_i |pad_yz_pred_i|^2 + mean_i |f^-1([y, z_prior, pad])_pad_x,i|^2   paddings stay zero
//   L_rec  = mean_i |f^-1(stop_gradient(f(x_in)) + noise)_i - x_in_i|^2       reconstruction of the padded x
// with y = y_data + N(0, y_noise^2), z_prior ~ N(0, I) and every padding N(0, padding_noise^2) (zero-padding
// with a little noise keeps the padding dimensions from being used to smuggle information).
//
// A cINN is the alternative for the same problems: dsl::conditional(spec, y_dim, ...) over x alone,
// trained by maximum likelihood with Flow::fit(x, y, ...), sampled with Flow::sample(n, y, rng);
// sample_posterior(model, y, n, rng) below draws from either kind of model alike.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <ostream>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <bijou/dsl/bijection.hpp>
#include <bijou/engine/engine.hpp>
#include <bijou/engine/optim/adam.hpp>
#include <bijou/engine/optim/clip.hpp>
#include <bijou/flows/fit.hpp>
#include <bijou/flows/flow.hpp>
#include <bijou/flows/mmd.hpp>

namespace bijou::flows {

// The dimensions of the two sides: input [x, pad_x], output [y, z, pad_yz], both `width` wide.
struct InnLayout {
    std::size_t x_dim = 0;
    std::size_t y_dim = 0;
    std::size_t z_dim = 0;
    std::size_t width = 0;  // 0: the smallest that fits, max(x_dim, y_dim + z_dim)

    std::size_t x_padding() const { return width - x_dim; }
    std::size_t yz_padding() const { return width - y_dim - z_dim; }

    // The layout with its width chosen, checked: every part at least one column, width >= 2.
    InnLayout resolved() const
    {
        InnLayout l = *this;
        if (x_dim == 0 || y_dim == 0 || z_dim == 0)
            throw_shape_error("INN", "x, y and z need at least one dimension each, got x_dim ", x_dim, ", y_dim ", y_dim,
                              ", z_dim ", z_dim);
        const std::size_t needed = std::max(x_dim, y_dim + z_dim);
        if (l.width == 0) l.width = needed;
        if (l.width < needed)
            throw_shape_error("INN", "a width of ", l.width, " cannot hold x (", x_dim, ") or [y, z] (", y_dim, " + ",
                              z_dim, ")");
        if (l.width < 2) throw_shape_error("INN", "the working width must be at least 2 for couplings, got ", l.width);
        return l;
    }
};

namespace detail {
template <class T, class Rng>
void fill_normal(T* out, std::size_t count, double scale, Rng& rng)
{
    if (scale == 0) {
        std::fill(out, out + count, T(0));
        return;
    }
    std::normal_distribution<double> normal(0.0, scale);
    for (std::size_t i = 0; i < count; ++i) out[i] = T(normal(rng));
}

// Columns of `part` copied into columns [first, first + part's width) of `into`, row by row.
template <class T>
void place_columns(Tensor<T>& into, const Tensor<T>& part, std::size_t first)
{
    const std::size_t rows = into.shape()[0], width = into.shape()[1], cols = part.shape()[1];
    for (std::size_t r = 0; r < rows; ++r)
        std::copy_n(part.data() + r * cols, cols, into.data() + r * width + first);
}
}  // namespace detail

template <class T, class Block>
class INN {
public:
    using value_type = T;

    INN(Block block, InnLayout layout) : layout_(layout.resolved()), flow_(std::move(block))
    {
        if (flow_.dim() != layout_.width)
            throw_shape_error("INN", "the flow has ", flow_.dim(), " features but the layout's width is ",
                              layout_.width);
    }

    const InnLayout& layout() const { return layout_; }
    std::size_t dim() const { return layout_.width; }
    const Block& block() const { return flow_.block(); }
    std::vector<Param<T>> parameters() const { return flow_.parameters(); }

    // [x, pad_x]: the padding drawn from N(0, noise^2), or zeros.
    template <class Rng>
    Tensor<T> pad_x(const Tensor<T>& x, double noise, Rng& rng) const
    {
        check_columns(x, layout_.x_dim, "pad_x", "x");
        Tensor<T> padded = Tensor<T>::from_shape({x.shape()[0], layout_.width});
        const std::size_t rows = x.shape()[0], pad = layout_.x_padding();
        for (std::size_t r = 0; r < rows; ++r) {
            std::copy_n(x.data() + r * layout_.x_dim, layout_.x_dim, padded.data() + r * layout_.width);
            detail::fill_normal(padded.data() + r * layout_.width + layout_.x_dim, pad, noise, rng);
        }
        return padded;
    }
    Tensor<T> pad_x(const Tensor<T>& x) const
    {
        std::mt19937_64 unused;
        return pad_x(x, 0.0, unused);
    }

    // [y, z, pad_yz]: y (n x y_dim) and z (n x z_dim), the padding drawn from N(0, noise^2), or zeros.
    template <class Rng>
    Tensor<T> join_output(const Tensor<T>& y, const Tensor<T>& z, double pad_noise, Rng& rng) const
    {
        check_columns(y, layout_.y_dim, "join_output", "y");
        check_columns(z, layout_.z_dim, "join_output", "z");
        if (z.shape()[0] != y.shape()[0])
            throw_shape_error("INN::join_output", "y and z need the same rows, got ", shape_of(y), " and ", shape_of(z));
        Tensor<T> joined = Tensor<T>::from_shape({y.shape()[0], layout_.width});
        detail::place_columns(joined, y, 0);
        detail::place_columns(joined, z, layout_.y_dim);
        for (std::size_t r = 0; r < y.shape()[0]; ++r)
            detail::fill_normal(joined.data() + r * layout_.width + layout_.y_dim + layout_.z_dim,
                                layout_.yz_padding(), pad_noise, rng);
        return joined;
    }
    Tensor<T> join_output(const Tensor<T>& y, const Tensor<T>& z) const
    {
        std::mt19937_64 unused;
        return join_output(y, z, 0.0, unused);
    }

    struct Output {
        Tensor<T> y, z, pad;  // pad has no columns when the layout has no padding on this side
    };
    Output split_output(const Tensor<T>& output) const
    {
        check_columns(output, layout_.width, "split_output", "an output");
        const std::size_t rows = output.shape()[0];
        Output parts{Tensor<T>::from_shape({rows, layout_.y_dim}), Tensor<T>::from_shape({rows, layout_.z_dim}),
                     Tensor<T>::from_shape({rows, layout_.yz_padding()})};
        auto take = [&](Tensor<T>& part, std::size_t first) {
            const std::size_t cols = part.shape()[1];
            for (std::size_t r = 0; r < rows; ++r)
                std::copy_n(output.data() + r * layout_.width + first, cols, part.data() + r * cols);
        };
        take(parts.y, 0);
        take(parts.z, layout_.y_dim);
        take(parts.pad, layout_.y_dim + layout_.z_dim);
        return parts;
    }

    // f([x, pad_x]) = [y, z, pad_yz], both n x width.
    Tensor<T> forward(const Tensor<T>& padded_x) { return flow_.forward(padded_x).first; }
    // f^-1([y, z, pad_yz]) = [x, pad_x].
    Tensor<T> inverse(const Tensor<T>& output) { return flow_.inverse(output).first; }

    // The predicted observation for each row of x (zero padding): the y part of f([x, 0]).
    Tensor<T> predict(const Tensor<T>& x) { return split_output(forward(pad_x(x))).y; }

    // n samples of p(x | y): the x part of f^-1([y, z, 0]) with z ~ N(0, I). y is 1 x y_dim (one
    // observation for all samples) or n x y_dim (one per sample).
    template <class Rng>
    Tensor<T> sample_posterior(const Tensor<T>& y, std::size_t n, Rng& rng)
    {
        check_columns(y, layout_.y_dim, "sample_posterior", "y");
        if (y.shape()[0] != 1 && y.shape()[0] != n)
            throw_shape_error("INN::sample_posterior", "expected y of shape 1 x ", layout_.y_dim, " or ", n, " x ",
                              layout_.y_dim, ", got ", shape_of(y));
        Tensor<T> output = xt::zeros<T>({n, layout_.width});
        for (std::size_t r = 0; r < n; ++r) {
            const T* row = y.data() + (y.shape()[0] == 1 ? 0 : r) * layout_.y_dim;
            std::copy_n(row, layout_.y_dim, output.data() + r * layout_.width);
            detail::fill_normal(output.data() + r * layout_.width + layout_.y_dim, layout_.z_dim, 1.0, rng);
        }
        const Tensor<T> padded = inverse(output);
        Tensor<T> x = Tensor<T>::from_shape({n, layout_.x_dim});
        for (std::size_t r = 0; r < n; ++r)
            std::copy_n(padded.data() + r * layout_.width, layout_.x_dim, x.data() + r * layout_.x_dim);
        return x;
    }

    void save(const std::string& path, const SaveOptions& options = {}) const { flow_.save(path, options); }
    Metadata load(const std::string& path) { return flow_.load(path); }

private:
    static void check_columns(const Tensor<T>& data, std::size_t cols, const char* what, const char* kind)
    {
        if (data.shape()[1] != cols)
            throw_shape_error(std::string("INN::") + what, "expected ", kind, " with ", cols, " columns, got ",
                              shape_of(data));
    }

    InnLayout layout_;
    Flow<T, Block> flow_;
};

// make_inn<float>(layout, spec[, seed]): the spec's blocks built for the layout's working width.
template <class T, class Spec>
auto make_inn(InnLayout layout, const Spec& spec, std::uint64_t seed = 0)
{
    const InnLayout resolved = layout.resolved();
    dsl::BuildContext context;
    context.rng.seed(seed);
    auto block = dsl::build_block<T, false>(spec, resolved.width, context);
    return INN<T, decltype(block)>(std::move(block), resolved);
}

// ---- the bidirectional loss ----

// Defaults: the 8-modes notebook of Ardizzone et al. (FrEIA), on this library's scale (squared errors
// summed over a row's columns, averaged over rows).
struct InnLossWeights {
    double y = 40;               // L_y, supervised fit of y
    double z = 300;              // L_z, latent MMD
    double x = 400;              // L_x, inverse MMD (at full strength, after the ramp)
    double padding = 1;          // L_pad, zero padding on both sides
    double reconstruction = 150; // L_rec
};

struct InnLossOptions {
    InnLossWeights weights;
    // Multi-scale inverse multiquadric kernels. (The paper's code also uses heavy-tailed (C, a) kernels,
    // e.g. generalised_multiquadric_kernel({{0.2, 0.1}, {0.2, 0.5}, {0.2, 2}}) for x; on the 8-modes toy
    // they gave posteriors far too narrow.)
    MmdOptions z_mmd = {inverse_multiquadric_kernel({0.2, 0.5, 0.9, 1.3})};
    MmdOptions x_mmd = {inverse_multiquadric_kernel({0.2, 0.5, 0.9, 1.3})};
    double y_noise = 0.03;        // sigma of the noise added to y (fit, latent and inverse targets)
    double z_noise = 0.02;        // sigma of the perturbation of z before reconstruction
    double padding_noise = 0.03;  // sigma of every padding
    // The weight of L_x is 0 before x_ramp_start and rises linearly to weights.x over x_ramp_steps.
    std::int64_t x_ramp_start = 0;
    std::int64_t x_ramp_steps = 0;

    double x_weight(std::int64_t step) const
    {
        if (step < x_ramp_start) return 0;
        if (x_ramp_steps <= 0) return weights.x;
        return weights.x * std::min(1.0, double(step - x_ramp_start + 1) / double(x_ramp_steps));
    }
};

// The five terms of one minibatch, unweighted.
struct InnLosses {
    double y = 0, z = 0, x = 0, padding = 0, reconstruction = 0;

    double total(const InnLossOptions& o, std::int64_t step) const
    {
        return o.weights.y * y + o.weights.z * z + o.x_weight(step) * x + o.weights.padding * padding +
               o.weights.reconstruction * reconstruction;
    }
};

namespace detail {
// The program of the five losses over the INN's block, for inputs
//   x_in       B x W   [x, pad_x noise]
//   v_in       B x W   [y + noise, z ~ N(0, I), pad_yz noise]: the targets of the forward pass, and the
//                      input of the inverse pass for L_x
//   rec_noise  B x W   the perturbation added to the forward output before reconstruction
//   out_mask   B x W   1 in the pad_yz columns, else 0
//   x_mask     B x W   1 in the pad_x columns, else 0
// (the masks keep the program's type the same whether or not a side has padding).
// The MMD terms pair this process's rows with all rows of the global batch (shared_mmd; `sharing` says
// which rows are whose), so that a data-parallel run's weighted sum over its processes is the batch's loss.
template <class T, class Block>
auto inn_loss_program(const Block& block, const InnLayout& layout, const InnLossOptions& options,
                      const Input<T>& x_in, const Input<T>& v_in, const Input<T>& rec_noise, const Input<T>& out_mask,
                      const Input<T>& x_mask, const RowSharing* sharing)
{
    const std::size_t nx = layout.x_dim, ny = layout.y_dim, nz = layout.z_dim;
    auto out = bind_operand(block.forward(x_in, dsl::NoCondition{}).value);
    auto y_pred = out.slice(0, ny);
    auto l_y = mean(sum(square(y_pred - v_in.slice(0, ny)), 1));
    auto l_z = shared_mmd(concat(stop_gradient(y_pred), out.slice(ny, ny + nz)), v_in.slice(0, ny + nz), options.z_mmd,
                          sharing);
    auto x_back = bind_operand(block.inverse(v_in, dsl::NoCondition{}).value);
    auto l_x = shared_mmd(x_back.slice(0, nx), x_in.slice(0, nx), options.x_mmd, sharing);
    auto l_pad = mean(sum(square(out * out_mask), 1)) + mean(sum(square(x_back * x_mask), 1));
    auto x_rec = block.inverse(stop_gradient(out) + rec_noise, dsl::NoCondition{}).value;
    auto l_rec = mean(sum(square(x_rec - x_in), 1));
    return Program(l_y, l_z, l_x, l_pad, l_rec);
}
}  // namespace detail

// The bidirectional loss of an INN as one engine program over a minibatch. Usage:
//   InnLoss loss(inn, options);
//   loss.bind(batch);
//   loss.set_batch(x, y, rows, rng);       // rows of the data, fresh noise and prior samples
//   InnLosses l = loss.forward();          // the five terms
//   loss.backward(step);                   // d(weighted total)/d(parameters), accumulated
template <class T, class Block>
class InnLoss {
public:
    InnLoss(const INN<T, Block>& inn, InnLossOptions options)
        : layout_(inn.layout()), options_(std::move(options)), x_in_(layout_.width, "inn.x"),
          v_in_(layout_.width, "inn.yz"), rec_noise_(layout_.width, "inn.reconstruction_noise"),
          out_mask_(layout_.width, "inn.output_padding_mask"), x_mask_(layout_.width, "inn.x_padding_mask"),
          program_(detail::inn_loss_program(inn.block(), layout_, options_, x_in_, v_in_, rec_noise_, out_mask_,
                                            x_mask_, &sharing_))
    {
        for (double noise : {options_.y_noise, options_.z_noise, options_.padding_noise})
            if (!(noise >= 0) || !std::isfinite(noise))
                throw_usage_error("InnLoss", "noise levels must be finite and >= 0, got ", noise);
        const InnLossWeights& w = options_.weights;
        const std::pair<const char*, double> weights[] = {{"y", w.y}, {"z", w.z}, {"x", w.x}, {"padding", w.padding},
                                                          {"reconstruction", w.reconstruction}};
        for (const auto& [name, weight] : weights)
            if (!(weight >= 0) || !std::isfinite(weight))
                throw_usage_error("InnLoss", "loss weights must be finite and >= 0, got weights.", name, " = ", weight);
        if (options_.x_ramp_start < 0 || options_.x_ramp_steps < 0)
            throw_usage_error("InnLoss", "x_ramp_start and x_ramp_steps must be >= 0, got ", options_.x_ramp_start,
                              " and ", options_.x_ramp_steps);
    }

    const InnLossOptions& options() const { return options_; }
    std::size_t batch() const { return program_.batch(); }

    // Allocates every buffer for minibatches of `batch` rows (and fills the padding masks).
    void bind(std::size_t batch)
    {
        sharing_ = RowSharing::alone(batch);
        bind_rows(batch);
    }
    // Data parallel: this process computes shard.count rows of each global batch of shard.batch, shared
    // among `processes` as train() shares them (BatchShard::of).
    void bind_shard(BatchShard shard, const ProcessGroup& processes)
    {
        if (processes.parallel() && (options_.z_mmd.estimator == MmdEstimator::unbiased ||
                                     options_.x_mmd.estimator == MmdEstimator::unbiased))
            throw_usage_error("InnLoss", "the unbiased MMD estimator cannot be shared among processes (its diagonal "
                                         "is the whole batch's); train data-parallel with the biased one, the default");
        sharing_ = {&processes, {}, shard.first, shard.count, shard.batch};
        for (int p = 0; p < processes.size(); ++p)
            sharing_.rows_of.push_back(BatchShard::of(shard.batch, p, processes.size()).count);
        bind_rows(shard.count);
    }

private:
    void bind_rows(std::size_t batch)
    {
        program_.bind(batch);
        for (std::size_t r = 0; r < batch; ++r)
            for (std::size_t c = 0; c < layout_.width; ++c) {
                out_mask_.value()(r, c) = T(c >= layout_.y_dim + layout_.z_dim ? 1 : 0);
                x_mask_.value()(r, c) = T(c >= layout_.x_dim ? 1 : 0);
            }
        for (auto& seed : seeds_) seed = Tensor<T>::from_shape({1, 1});
    }

public:
    // Rows rows[0..batch) of x (n x x_dim) and y (n x y_dim) into the program, with fresh noise and
    // prior samples drawn from rng. Allocates nothing. After bind_shard, `rows` are the whole global
    // batch's: the noise is drawn for all of them in the same order as one process would, and this
    // process's rows of it go into the program.
    template <class Rng>
    void set_batch(const Tensor<T>& x, const Tensor<T>& y, const std::size_t* rows, Rng& rng)
    {
        const std::size_t batch = sharing_.batch, w = layout_.width, nx = layout_.x_dim, ny = layout_.y_dim,
                          nz = layout_.z_dim;
        if (batch == 0) throw_usage_error("InnLoss", "set_batch() called before bind(batch)");
        if (x.shape()[1] != nx || y.shape()[1] != ny || x.shape()[0] != y.shape()[0])
            throw_shape_error("InnLoss", "expected x with ", nx, " columns and y with ", ny,
                              " columns and the same rows, got ", shape_of(x), " and ", shape_of(y));
        for (std::size_t r = 0; r < batch; ++r)
            if (rows[r] >= x.shape()[0])
                throw_shape_error("InnLoss::set_batch", "row index ", rows[r], " at batch position ", r,
                                  " is outside the data's ", x.shape()[0], " rows");
        std::normal_distribution<double> normal;
        // The rows of another process are drawn into a scratch row and dropped (one row: no allocation).
        T* xv = x_in_.value().data();
        T* vv = v_in_.value().data();
        T* nv = rec_noise_.value().data();
        T* scratch = scratch_row_.data();
        for (std::size_t global = 0; global < batch; ++global) {
            const bool mine = global >= sharing_.first && global < sharing_.first + sharing_.count;
            const std::size_t r = global - sharing_.first;
            T* xr = mine ? xv + r * w : scratch;
            T* vr = mine ? vv + r * w : scratch + w;
            T* nr = mine ? nv + r * w : scratch + 2 * w;
            const std::size_t i = rows[global];
            std::copy_n(x.data() + i * nx, nx, xr);
            detail::fill_normal(xr + nx, w - nx, options_.padding_noise, rng);
            for (std::size_t c = 0; c < ny; ++c) vr[c] = T(double(y(i, c)) + options_.y_noise * normal(rng));
            detail::fill_normal(vr + ny, nz, 1.0, rng);
            detail::fill_normal(vr + ny + nz, w - ny - nz, options_.padding_noise, rng);
            detail::fill_normal(nr, ny, options_.y_noise, rng);
            detail::fill_normal(nr + ny, nz, options_.z_noise, rng);
            detail::fill_normal(nr + ny + nz, w - ny - nz, options_.padding_noise, rng);
        }
    }

    // The inputs given directly, each batch x width: x_in = [x, pad_x], v = [y, z, pad_yz] (the forward
    // targets and the inverse input of L_x), and the perturbation added before reconstruction.
    void set_inputs(const Tensor<T>& x_in, const Tensor<T>& v, const Tensor<T>& reconstruction_noise)
    {
        x_in_.set(x_in);
        v_in_.set(v);
        rec_noise_.set(reconstruction_noise);
    }

    InnLosses forward()
    {
        program_.forward();
        return {double(program_.template value<0>()(0, 0)), double(program_.template value<1>()(0, 0)),
                double(program_.template value<2>()(0, 0)), double(program_.template value<3>()(0, 0)),
                double(program_.template value<4>()(0, 0))};
    }

    // Accumulates the gradient of the weighted total at training step `step` (which sets the L_x ramp)
    // into the parameters' gradients. Call after forward().
    void backward(std::int64_t step)
    {
        const InnLossWeights& w = options_.weights;
        const double weights[5] = {w.y, w.z, options_.x_weight(step), w.padding, w.reconstruction};
        for (std::size_t k = 0; k < 5; ++k) seeds_[k](0, 0) = T(weights[k]);
        program_.backward_from(seeds_[0], seeds_[1], seeds_[2], seeds_[3], seeds_[4]);
    }

    auto& program() { return program_; }

private:
    using ProgramType = decltype(detail::inn_loss_program(
        std::declval<const Block&>(), std::declval<const InnLayout&>(), std::declval<const InnLossOptions&>(),
        std::declval<const Input<T>&>(), std::declval<const Input<T>&>(), std::declval<const Input<T>&>(),
        std::declval<const Input<T>&>(), std::declval<const Input<T>&>(), std::declval<const RowSharing*>()));

    InnLayout layout_;
    InnLossOptions options_;
    Input<T> x_in_, v_in_, rec_noise_, out_mask_, x_mask_;
    RowSharing sharing_;  // which rows of each global batch this process computes (read by the program's gathers)
    std::vector<T> scratch_row_ = std::vector<T>(3 * layout_.width);
    ProgramType program_;
    std::array<Tensor<T>, 5> seeds_;
};

// ---- training ----

template <class T>
struct InnFitOptions {
    std::size_t batch_size = 500;
    std::int64_t steps = 1000;
    double lr = 1e-3;
    std::function<double(std::int64_t)> schedule = {};  // lr at step k = 0, 1, ...; empty: constant lr
    double beta1 = 0.9;
    double beta2 = 0.999;
    double weight_decay = 0;    // AdamW (decoupled)
    double max_grad_norm = 0;   // clip the global gradient norm; 0 = off
    InnLossOptions loss = {};
    std::uint64_t seed = 0;     // minibatch order, noise and prior samples
    std::int64_t log_every = 100;  // report (and `log`) the mean losses of each window of this many steps
    std::ostream* log = nullptr;
    // After every step; return false to stop.
    std::function<bool(std::int64_t step, const InnLosses&, double lr)> on_step = {};
    // Data-parallel training over these processes (engine/optim/train.hpp): the same steps as one process.
    const ProcessGroup* processes = nullptr;
};

struct InnLossPoint {
    std::int64_t step;
    InnLosses losses;  // means over the window ending at this step
    double total;      // the weighted total, at this step's L_x weight
};

struct InnFitReport {
    std::vector<InnLossPoint> losses;
    std::int64_t steps_run = 0;
    StopReason stop_reason = StopReason::completed;
    double median_step_ms = 0;
    int processes = 1;         // that computed each step
    double median_sum_ms = 0;  // of a step, the sum over the processes (0 alone)
};

namespace detail {

// The INN's bidirectional loss as an objective of train() (engine/optim/train.hpp): a step's minibatch is
// its rows of (x, y) plus fresh padding noise, y noise and prior samples, drawn from a generator seeded by
// (seed, step), so a run is reproducible and could resume at any step; the loss is the weighted total at
// that step's L_x weight.
template <class T, class Block>
class InnObjective {
public:
    InnObjective(InnLoss<T, Block>& loss, const Tensor<T>& x, const Tensor<T>& y, std::uint64_t seed,
                 const ProcessGroup* processes)
        : loss_(loss), x_(x), y_(y), seed_(seed), processes_(processes)
    {
    }
    void bind(std::size_t batch) { loss_.bind(batch); }
    void load(const std::size_t* rows, std::size_t, std::int64_t step)
    {
        rng_.seed(bijou::detail::splitmix64(seed_ ^ bijou::detail::splitmix64(std::uint64_t(step) + 0x1ee7)));
        loss_.set_batch(x_, y_, rows, rng_);
    }
    // Data parallel (ShardableObjective): every term is a mean over this process's rows (the MMDs pair
    // them with all rows: shared_mmd), and the noise is drawn for the whole global batch.
    void bind_shard(BatchShard shard) { loss_.bind_shard(shard, *processes_); }
    void load_shard(const std::size_t* rows, std::int64_t step) { load(rows, 0, step); }
    double forward(std::int64_t step)
    {
        const InnLosses l = loss_.forward();
        terms_ = {l.y, l.z, l.x, l.padding, l.reconstruction};
        return l.total(loss_.options(), step - 1);
    }
    void backward(std::int64_t step) { loss_.backward(step - 1); }
    // The five terms, summed over the processes by train() in a data-parallel step.
    std::span<double> shared_values() { return terms_; }
    InnLosses last() const { return {terms_[0], terms_[1], terms_[2], terms_[3], terms_[4]}; }

private:
    InnLoss<T, Block>& loss_;
    const Tensor<T>& x_;
    const Tensor<T>& y_;
    std::uint64_t seed_;
    const ProcessGroup* processes_;
    std::mt19937_64 rng_;
    std::array<double, 5> terms_{};
};

}  // namespace detail

// Trains an INN with the bidirectional loss on pairs (x row i, y row i), through train() (the loop every
// trainer uses: per-epoch shuffles, Adam(W) with the options' betas, clipping, the schedule; see
// engine/optim/train.hpp). Everything is allocated before the first step.
template <class T, class Block>
InnFitReport fit(INN<T, Block>& inn, const Tensor<T>& x, const Tensor<T>& y, InnFitOptions<T> options = {})
{
    const InnLayout& layout = inn.layout();
    if (x.shape()[0] == 0 || x.shape()[1] != layout.x_dim || y.shape()[1] != layout.y_dim ||
        y.shape()[0] != x.shape()[0])
        throw_shape_error("fit(INN)", "expected x with ", layout.x_dim, " columns and y with ", layout.y_dim,
                          " columns and the same (non-zero) rows, got ", shape_of(x), " and ", shape_of(y));
    if (options.batch_size == 0 || options.steps < 0 || options.log_every < 1)
        throw_usage_error("fit(INN)", "needs batch_size > 0, steps >= 0 and log_every >= 1, got batch_size ",
                          options.batch_size, ", steps ", options.steps, ", log_every ", options.log_every);
    require_finite(x, "fit(INN)", "", "x");
    require_finite(y, "fit(INN)", "", "y");
    if (!(options.lr > 0) || !std::isfinite(options.lr))
        throw_usage_error("fit(INN)", "lr must be > 0 and finite, got ", options.lr);
    if (!(options.beta1 >= 0 && options.beta1 < 1) || !(options.beta2 >= 0 && options.beta2 < 1))
        throw_usage_error("fit(INN)", "Adam's betas must lie in [0, 1), got beta1 ", options.beta1, ", beta2 ",
                          options.beta2);
    if (!(options.weight_decay >= 0) || !std::isfinite(options.weight_decay))
        throw_usage_error("fit(INN)", "weight_decay must be finite and >= 0, got ", options.weight_decay);
    if (!(options.max_grad_norm >= 0))
        throw_usage_error("fit(INN)", "max_grad_norm must be >= 0 (0 = no clipping), got ", options.max_grad_norm);

    InnLoss<T, Block> loss(inn, options.loss);
    detail::InnObjective<T, Block> objective(loss, x, y, options.seed, options.processes);
    const bool root = !options.processes || options.processes->is_root();

    // The report's windows of the five terms, kept beside train()'s windows of the total.
    InnFitReport report;
    report.losses.reserve(std::size_t(options.steps / options.log_every + 1));
    InnLosses window{};
    std::int64_t window_steps = 0;
    auto flush = [&](std::int64_t step, double lr) {
        if (window_steps == 0) return;
        const double k = double(window_steps);
        const InnLosses mean{window.y / k, window.z / k, window.x / k, window.padding / k, window.reconstruction / k};
        report.losses.push_back({step, mean, mean.total(options.loss, step)});
        if (options.log && root)
            *options.log << "fit(INN): step " << step << "/" << options.steps << "  total " << report.losses.back().total
                         << "  L_y " << mean.y << "  L_z " << mean.z << "  L_x " << mean.x << "  L_pad " << mean.padding
                         << "  L_rec " << mean.reconstruction << "  lr " << lr << "\n";
        window = {};
        window_steps = 0;
    };
    double last_lr = options.lr;
    const FitOptions<T> loop{.batch_size = options.batch_size,
                             .steps = options.steps,
                             .lr = options.lr,
                             .schedule = options.schedule,
                             .weight_decay = options.weight_decay,
                             .beta1 = options.beta1,
                             .beta2 = options.beta2,
                             .max_grad_norm = options.max_grad_norm,
                             .seed = options.seed,
                             .on_step = [&](std::int64_t step, double, double lr) {
                                 const InnLosses l = objective.last();
                                 window.y += l.y;
                                 window.z += l.z;
                                 window.x += l.x;
                                 window.padding += l.padding;
                                 window.reconstruction += l.reconstruction;
                                 ++window_steps;
                                 last_lr = lr;
                                 if (step % options.log_every == 0) flush(step, lr);
                                 return !options.on_step || options.on_step(step, l, lr);
                             },
                             .log_every = options.log_every,
                             .processes = options.processes};
    const FitReport run = train(inn.parameters(), objective, x.shape()[0], loop);
    flush(run.steps_run, last_lr);
    report.steps_run = run.steps_run;
    report.stop_reason = run.stop_reason;
    report.median_step_ms = run.median_step_ms;
    report.processes = run.processes;
    report.median_sum_ms = run.median_sum_ms;
    return report;
}

// ---- posterior sampling, INN or cINN alike ----

// n samples of p(x | y) from an INN.
template <class T, class Block, class Rng>
Tensor<T> sample_posterior(INN<T, Block>& inn, const Tensor<T>& y, std::size_t n, Rng& rng)
{
    return inn.sample_posterior(y, n, rng);
}

// n samples of p(x | y) from a conditional flow (cINN) with y as its condition.
template <class T, class Block, class Rng>
    requires Flow<T, Block>::conditional
Tensor<T> sample_posterior(Flow<T, Block>& cinn, const Tensor<T>& y, std::size_t n, Rng& rng)
{
    return cinn.sample(n, y, rng);
}

}  // namespace bijou::flows
