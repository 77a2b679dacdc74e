"""PyTorch side of the Bijou-versus-PyTorch speed comparison (bench/compare_pytorch).

The same six models as Bijou's, written in plain eager PyTorch. Each has the same architecture,
initialisation scheme, loss and optimiser as the Bijou example it comes from, and every choice cites
the Bijou file it follows. Runs on one thread in float32, seeded with torch.manual_seed(0).

    /usr/bin/python3 bench/compare_pytorch/torch_worker.py --config NAME --data DIR

NAME is one of moons_realnvp, 8gaussians_spline, digits_realnvp, digits_spline, ik_inn, fashion_glow.
DIR holds (written by make_data.py):
    NAME.json          {"batches": S, "batch": B, "width": D, "eval_rows": R}
    NAME.batches.f32   raw little-endian float32, shape (S, B, D): training step i uses batch i mod S
    NAME.eval.f32      raw little-endian float32, R x D rows for the log-density and sampling timings
                       (R = 4096; fashion_glow: 1024, see make_data.py)
For ik_inn, D = 6: the first 4 columns are x and the last 2 are y = f(x). For fashion_glow, D = 784: one
1 x 28 x 28 Fashion-MNIST image per row in model space (x + u) / 256 - 1/2, batch 64; the model is
flows/glow.hpp's multiscale_glow<2>({1, 28, 28}, 8, 64), trained with gradient-norm clip 50, its
ActNorms initialised on training batch 0 when the worker starts (before any timed step).

Protocol: one command per line on stdin, each answered by exactly one JSON line on stdout.
    train N      N training steps (batch copy, forward, backward, gradient clipping, optimiser step), each
                 timed with time.perf_counter -> {"step_ms": [N floats], "loss": last loss}
    log_prob R   R timed log-density evaluations of the eval rows under torch.no_grad() (ik_inn: the
                 forward pass x -> [y, z]) -> {"ms": [R floats]}
    sample R     R timed draws of as many samples as there are eval rows: z ~ N(0, I), then the inverse
                 (ik_inn: the inverse of [y, z], y from the eval rows, z ~ N(0, I)) -> {"ms": [R floats]}
    memory       {"peak_rss_mb": ru_maxrss / 1024}
    params       {"parameters": the number of trainable parameters}
    quit         exit 0 (so does the end of stdin)
Blank lines are ignored. On an error the worker writes a message to stderr and exits 1.
"""

import os

# One thread everywhere. These are set before torch is imported, because OpenBLAS (Debian's torch calls
# the system libblas, here OpenBLAS-pthread) reads its thread count when it loads.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

import argparse
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)


class WorkerError(Exception):
    """A bad command, bad data or a failed step: reported on stderr, then exit 1."""


# ---- conditioners ----------------------------------------------------------------------------------


class MLP(nn.Module):
    """in -> hidden -> ... -> out with relu, as engine/nn/mlp.hpp builds a coupling conditioner.

    engine/nn/init.hpp + engine/nn/linear.hpp: every weight is Kaiming-uniform, U(-b, b) with
    b = sqrt(6 / fan_in), and every bias starts at zero. dsl/coupling.hpp (conditioner(...) defaults to
    .zero_last = true): the last layer's weight is zero too, so each coupling starts as the identity.
    (nn.Linear's own default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with a random bias, is not Bijou's.)
    """

    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        widths = [n_in, *hidden, n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                if i + 1 == len(self.layers):
                    layer.weight.zero_()
                else:
                    bound = math.sqrt(6.0 / layer.in_features)
                    layer.weight.uniform_(-bound, bound)
                layer.bias.zero_()

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)


# ---- coupling transforms ---------------------------------------------------------------------------


def soft_clamp(s, bound=2.0):
    """engine/ops/soft_clamp.hpp, tanh form with the default bound 2 (flows/couplings.hpp)."""
    return bound * torch.tanh(s / bound)


class AffineTransform:
    """RealNVP's y = x * exp(soft_clamp(s)) + t (flows/transforms.hpp, affine_transform()).

    dsl/coupling_transform.hpp: the conditioner's output is [s (w columns), t (w columns)].
    """

    @staticmethod
    def columns(w):
        return 2 * w

    @staticmethod
    def forward(x, p, log_det):
        w = x.shape[1]
        s = soft_clamp(p[:, :w])
        y = x * torch.exp(s) + p[:, w:]
        return y, (s.sum(1) if log_det else None)

    @staticmethod
    def inverse(y, p, log_det):
        w = y.shape[1]
        s = soft_clamp(p[:, :w])
        x = (y - p[:, w:]) * torch.exp(-s)
        return x, (-s.sum(1) if log_det else None)


# flows/rq_spline_knots.hpp: the minimal bin width, height and derivative.
MIN_BIN_WIDTH = MIN_BIN_HEIGHT = MIN_DERIVATIVE = 1e-3
DERIVATIVE_SHIFT = math.log(math.expm1(1 - MIN_DERIVATIVE))  # makes u_d = 0 give d = 1


def _knots(u, bins, bound, minimum):
    """z_0 .. z_K on [-B, B] from K unnormalised bin sizes (rq_spline_knots.hpp, knots_from_sizes):
    z_j = -B + 2B sum_{k<j} (m + (1 - m K) softmax(u)_k), with the end points set exactly."""
    sizes = minimum + (1 - minimum * bins) * torch.softmax(u, dim=-1)
    inner = -bound + 2 * bound * torch.cumsum(sizes[..., :-1], dim=-1)
    lo = inner.new_full(inner.shape[:-1] + (1,), -bound)
    hi = inner.new_full(inner.shape[:-1] + (1,), bound)
    return torch.cat([lo, inner, hi], dim=-1)


def _segment(x, xk, xk1, yk, yk1, dk, dk1):
    """The forward formula in one bin and its log-derivative (flows/rq_spline.hpp, rq_segment)."""
    width = xk1 - xk
    height = yk1 - yk
    slope = height / width
    theta = (x - xk) / width
    one_minus = 1 - theta
    t = theta * one_minus
    denominator = slope + (dk + dk1 - 2 * slope) * t
    value = yk + height * (slope * theta * theta + dk * t) / denominator
    derivative_numerator = slope * slope * (dk1 * theta * theta + 2 * slope * t + dk * one_minus * one_minus)
    return value, torch.log(derivative_numerator) - 2 * torch.log(denominator)


class RationalQuadraticSpline:
    """flows/spline.hpp with the kernels of flows/rq_spline_knots.hpp and rq_spline.hpp.

    K bins on [-B, B], the identity outside (linear tails: d_0 = d_K = 1). Feature i reads the columns
    [i (3K - 1), (i + 1)(3K - 1)) of the conditioner's output as [K widths, K heights, K - 1 interior
    derivatives]. Widths and heights: m + (1 - m K) softmax; interior derivatives m + softplus(u + c),
    c = log(expm1(1 - m)), so all-zero parameters give the identity. Bins are found by upper bound on
    the knots (x forward, y inverse); the inverse uses the root form 2c / (-b - sqrt(b^2 - 4ac)) with the
    discriminant clamped at 0 and theta clamped to [0, 1], as Bijou does.
    """

    def __init__(self, bins, tail_bound):
        self.bins = bins
        self.bound = float(tail_bound)

    def columns(self, w):
        return (3 * self.bins - 1) * w

    def _spline(self, p, w):
        K, B = self.bins, self.bound
        p = p.reshape(p.shape[0], w, 3 * K - 1)
        xs = _knots(p[..., :K], K, B, MIN_BIN_WIDTH)
        ys = _knots(p[..., K : 2 * K], K, B, MIN_BIN_HEIGHT)
        interior = MIN_DERIVATIVE + F.softplus(p[..., 2 * K :] + DERIVATIVE_SHIFT)
        one = interior.new_ones(interior.shape[:-1] + (1,))
        ds = torch.cat([one, interior, one], dim=-1)
        return xs, ys, ds

    def _bin(self, knots, v):
        k = torch.searchsorted(knots, v.unsqueeze(-1), right=True) - 1
        return k.clamp_(0, self.bins - 1)

    @staticmethod
    def _at(knots, k):
        return torch.gather(knots, -1, k).squeeze(-1), torch.gather(knots, -1, k + 1).squeeze(-1)

    def forward(self, x, p, log_det):
        xs, ys, ds = self._spline(p, x.shape[1])
        inside = (x >= -self.bound) & (x <= self.bound)
        v = x.clamp(-self.bound, self.bound)
        k = self._bin(xs, v)
        (xk, xk1), (yk, yk1), (dk, dk1) = self._at(xs, k), self._at(ys, k), self._at(ds, k)
        value, log_derivative = _segment(v, xk, xk1, yk, yk1, dk, dk1)
        y = torch.where(inside, value, x)
        if not log_det:
            return y, None
        return y, torch.where(inside, log_derivative, torch.zeros_like(log_derivative)).sum(1)

    def inverse(self, y, p, log_det):
        xs, ys, ds = self._spline(p, y.shape[1])
        inside = (y >= -self.bound) & (y <= self.bound)
        v = y.clamp(-self.bound, self.bound)
        k = self._bin(ys, v)
        (xk, xk1), (yk, yk1), (dk, dk1) = self._at(xs, k), self._at(ys, k), self._at(ds, k)
        width, height = xk1 - xk, yk1 - yk
        slope = height / width
        above = v - yk
        curvature = dk + dk1 - 2 * slope
        a = height * (slope - dk) + above * curvature
        b = height * dk - above * curvature
        c = -slope * above
        root_denominator = -b - torch.sqrt((b * b - 4 * a * c).clamp_min(0))
        safe = torch.where(root_denominator == 0, torch.ones_like(root_denominator), root_denominator)
        theta = torch.where(root_denominator == 0, torch.zeros_like(c), (2 * c / safe).clamp(0, 1))
        x_spline = xk + theta * width
        x = torch.where(inside, x_spline, y)
        if not log_det:
            return x, None
        _, log_derivative = _segment(x_spline, xk, xk1, yk, yk1, dk, dk1)
        return x, torch.where(inside, -log_derivative, torch.zeros_like(log_derivative)).sum(1)


# ---- blocks ----------------------------------------------------------------------------------------


class Coupling(nn.Module):
    """dsl/coupling.hpp with the halves split of dsl/split.hpp.

    halves: x_a = the first floor(D/2) features are untouched and feed the conditioner, and the rest are
    transformed; output [x_a, y_b]. swapped (the second half of a Glow coupling): x_a = the last
    ceil(D/2) features, x_b the first floor(D/2); output [y_b, x_a].
    """

    def __init__(self, dim, hidden, transform, swapped=False):
        super().__init__()
        half = dim // 2
        self.swapped = swapped
        self.untouched = dim - half if swapped else half
        self.half = half
        self.transform = transform
        self.net = MLP(self.untouched, hidden, transform.columns(dim - self.untouched))

    def _split(self, v):
        if self.swapped:
            return v[:, self.half :], v[:, : self.half]
        return v[:, : self.half], v[:, self.half :]

    def _join(self, a, b):
        return torch.cat([b, a], 1) if self.swapped else torch.cat([a, b], 1)

    def forward(self, x, log_det=True):
        a, b = self._split(x)
        b, ld = self.transform.forward(b, self.net(a), log_det)
        return self._join(a, b), ld

    def inverse(self, y, log_det=True):
        a, b = self._split(y)
        b, ld = self.transform.inverse(b, self.net(a), log_det)
        return self._join(a, b), ld


class GlowCoupling(nn.Module):
    """flows/couplings.hpp, glow_coupling: an affine coupling of the second half given the first, then of
    the first given the new second, each with its own conditioner."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.first = Coupling(dim, hidden, AffineTransform, swapped=False)
        self.second = Coupling(dim, hidden, AffineTransform, swapped=True)

    def forward(self, x, log_det=True):
        x, ld1 = self.first(x, log_det)
        x, ld2 = self.second(x, log_det)
        return x, (ld1 + ld2 if log_det else None)

    def inverse(self, y, log_det=True):
        y, ld2 = self.second.inverse(y, log_det)
        y, ld1 = self.first.inverse(y, log_det)
        return y, (ld1 + ld2 if log_det else None)


class Permutation(nn.Module):
    """dsl/permutation.hpp: out[:, j] = x[:, order[j]] (engine/kernels/permute.hpp), log-det 0.
    reverse(): order = D-1 .. 0. permute_random(): a permutation drawn once, when the model is built."""

    def __init__(self, order):
        super().__init__()
        order = torch.as_tensor(order, dtype=torch.long)
        self.register_buffer("order", order)
        self.register_buffer("inverse_order", torch.argsort(order))

    def forward(self, x, log_det=True):
        return x.index_select(1, self.order), None

    def inverse(self, y, log_det=True):
        return y.index_select(1, self.inverse_order), None


class LogitLayer(nn.Module):
    """flows/squash.hpp, logit_layer(alpha): y = logit(alpha + (1 - 2 alpha) x), log|dy/dx| =
    log(1 - 2 alpha) - log x' - log(1 - x'); inverse x = (sigmoid(y) - alpha) / (1 - 2 alpha)."""

    def __init__(self, alpha):
        super().__init__()
        self.alpha = alpha
        self.log_scale = math.log(1 - 2 * alpha)

    def _log_det(self, squeezed):
        return (self.log_scale - torch.log(squeezed) - torch.log1p(-squeezed)).sum(1)

    def forward(self, x, log_det=True):
        squeezed = (1 - 2 * self.alpha) * x + self.alpha
        y = torch.log(squeezed) - torch.log1p(-squeezed)
        return y, (self._log_det(squeezed) if log_det else None)

    def inverse(self, y, log_det=True):
        squeezed = torch.sigmoid(y)
        x = (squeezed - self.alpha) / (1 - 2 * self.alpha)
        return x, (-self._log_det(squeezed) if log_det else None)


class Flow(nn.Module):
    """A chain of blocks over a standard normal (flows/flow.hpp):
    log p(x) = -|f(x)|^2 / 2 - D/2 log(2 pi) + log|det Df(x)|; sampling x = f^-1(z), z ~ N(0, I)."""

    def __init__(self, dim, blocks):
        super().__init__()
        self.dim = dim
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x, log_det=True):
        total = None
        for block in self.blocks:
            x, ld = block(x, log_det)
            if ld is not None:
                total = ld if total is None else total + ld
        if log_det and total is None:
            total = x.new_zeros(x.shape[0])
        return x, total

    def inverse(self, z, log_det=True):
        total = None
        for block in reversed(self.blocks):
            z, ld = block.inverse(z, log_det)
            if ld is not None:
                total = ld if total is None else total + ld
        if log_det and total is None:
            total = z.new_zeros(z.shape[0])
        return z, total

    def log_prob(self, x):
        z, log_det = self(x)
        return -0.5 * (z * z).sum(1) - 0.5 * self.dim * LOG_2PI + log_det


def random_order(dim):
    """A permutation drawn from torch's seeded generator (dsl::permute_random draws from the build rng)."""
    return torch.randperm(dim).tolist()


# ---- Glow on images (flows/glow.hpp) -----------------------------------------------------------------
# Tensors here are images N x C x H x W; a flow row is one image flattened channel-major (NCHW), so the
# first k H W columns of a row are its first k channels, as in Bijou's image rows (engine/image.hpp).


def kaiming_conv(conv):
    """engine/nn/conv2d.hpp, Conv2dLayer: Kaiming-uniform U(-b, b), b = sqrt(6 / fan_in), fan_in = Ci k k
    (the rows of Bijou's (Ci k k) x Co weight), bias zero. (nn.Conv2d's own default is not Bijou's.)"""
    bound = math.sqrt(6.0 / (conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]))
    with torch.no_grad():
        conv.weight.uniform_(-bound, bound)
        conv.bias.zero_()
    return conv


class ConvConditioner(nn.Module):
    """dsl/conv_conditioner.hpp: conv k x k (Ca -> hidden) - ReLU - conv 1x1 (hidden -> hidden) - ReLU -
    conv k x k (hidden -> out), "same" padding, stride 1, biases; the last layer's weight and bias zero."""

    def __init__(self, n_in, hidden, n_out, kernel=3):
        super().__init__()
        self.first = kaiming_conv(nn.Conv2d(n_in, hidden, kernel, padding=kernel // 2))
        self.middle = kaiming_conv(nn.Conv2d(hidden, hidden, 1))
        self.last = nn.Conv2d(hidden, n_out, kernel, padding=kernel // 2)
        with torch.no_grad():
            self.last.weight.zero_()
            self.last.bias.zero_()

    def forward(self, x):
        return self.last(F.relu(self.middle(F.relu(self.first(x)))))


class ChannelActNorm(nn.Module):
    """flows/actnorm.hpp, channel_actnorm(): y = (x - shift_c) exp(-log_scale_c), log|det J| =
    -H W sum_c log_scale_c. Data-dependent initialisation (data_init) on a first batch: shift = the mean
    and log_scale = log sqrt(sd^2 + epsilon^2) of each channel over the batch and the pixels (population
    sd, accumulated in double, epsilon = 1e-6). The identity until then."""

    EPSILON = 1e-6

    def __init__(self, channels):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def data_init(self, x):
        v = x.double()
        mean = v.mean(dim=(0, 2, 3), keepdim=True)
        sd = ((v - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True).sqrt()
        with torch.no_grad():
            self.shift.copy_(mean)
            self.log_scale.copy_(0.5 * torch.log(sd * sd + self.EPSILON**2))

    def _log_det(self, x):
        return (-(x.shape[2] * x.shape[3]) * self.log_scale.sum()).expand(x.shape[0])

    def forward(self, x):
        return (x - self.shift) * torch.exp(-self.log_scale), self._log_det(x)

    def inverse(self, y):
        return y * torch.exp(self.log_scale) + self.shift, -self._log_det(y)


def random_orthogonal(n):
    """lu_linear.hpp, random_orthogonal: the Q of a Gaussian matrix's QR with R's diagonal made positive
    (Haar-distributed; Mezzadri 2007), from torch's seeded generator, in double."""
    q, r = torch.linalg.qr(torch.randn(n, n, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)


class InvertibleConv1x1(nn.Module):
    """flows/invertible_conv1x1.hpp with flows/lu_linear.hpp: y[:, :, p] = W x[:, :, p] for every pixel,
    W = P L (U + diag(sign exp(log_scale))), log|det J| = H W sum_c log_scale_c. Initialised from the LU
    decomposition (partial pivoting) of a random rotation, Q = P L U: log_scale = log|diag U|, sign =
    sign(diag U). As in Bijou, "lower" and "upper" are full C x C parameters masked to their strict
    triangles (so the parameter count is 2 C^2 + C); P, the masks and the signs are fixed buffers. The
    inverse convolves with W^-1."""

    def __init__(self, channels):
        super().__init__()
        n = channels
        p, l, u = torch.linalg.lu(random_orthogonal(n))
        diagonal = torch.diagonal(u)
        self.register_buffer("permutation", p.float())
        self.register_buffer("lower_mask", torch.tril(torch.ones(n, n), -1))
        self.register_buffer("upper_mask", torch.triu(torch.ones(n, n), 1))
        self.register_buffer("identity", torch.eye(n))
        self.register_buffer("sign", torch.sign(diagonal).float())
        self.lower = nn.Parameter(torch.tril(l, -1).float())
        self.upper = nn.Parameter(torch.triu(u, 1).float())
        self.log_scale = nn.Parameter(torch.log(diagonal.abs()).float())

    def weight(self):
        lower = self.lower * self.lower_mask + self.identity
        upper = self.upper * self.upper_mask + torch.diag(self.sign * torch.exp(self.log_scale))
        return self.permutation @ (lower @ upper)

    def _log_det(self, x):
        return ((x.shape[2] * x.shape[3]) * self.log_scale.sum()).expand(x.shape[0])

    def forward(self, x):
        w = self.weight()
        return F.conv2d(x, w.view(w.shape[0], w.shape[1], 1, 1)), self._log_det(x)

    def inverse(self, y):
        w = torch.linalg.inv(self.weight())
        return F.conv2d(y, w.view(w.shape[0], w.shape[1], 1, 1)), -self._log_det(y)


class ChannelAffineCoupling(nn.Module):
    """flows/couplings.hpp, realnvp_coupling(conv_conditioner(hidden)) on channel halves (dsl/split.hpp):
    x_a = the first floor(C/2) channels (untouched, the conditioner's input), x_b the rest; the
    conditioner's 2 C_b output channels are [s (C_b), t (C_b)]; y_b = x_b exp(2 tanh(s / 2)) + t, log|det J|
    = sum of the clamped s; output [x_a, y_b]."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.half = channels // 2
        self.transformed = channels - self.half
        self.net = ConvConditioner(self.half, hidden, 2 * self.transformed)

    def _parameters_of(self, a):
        p = self.net(a)
        return soft_clamp(p[:, : self.transformed]), p[:, self.transformed :]

    def forward(self, x):
        a, b = x[:, : self.half], x[:, self.half :]
        s, t = self._parameters_of(a)
        return torch.cat([a, b * torch.exp(s) + t], 1), s.sum(dim=(1, 2, 3))

    def inverse(self, y):
        a, b = y[:, : self.half], y[:, self.half :]
        s, t = self._parameters_of(a)
        return torch.cat([a, (b - t) * torch.exp(-s)], 1), -s.sum(dim=(1, 2, 3))


class GlowStep(nn.Module):
    """flows/glow.hpp, glow_step(hidden): channel_actnorm, invertible_conv1x1, affine coupling."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.blocks = nn.ModuleList(
            [ChannelActNorm(channels), InvertibleConv1x1(channels), ChannelAffineCoupling(channels, hidden)]
        )

    def forward(self, x, initialize=False):
        total = 0
        for block in self.blocks:
            if initialize and isinstance(block, ChannelActNorm):
                block.data_init(x)
            x, ld = block(x)
            total = total + ld
        return x, total

    def inverse(self, y):
        total = 0
        for block in reversed(self.blocks):
            y, ld = block.inverse(y)
            total = total + ld
        return y, total


class MultiscaleGlow(nn.Module):
    """flows/glow.hpp, multiscale_glow<L>({C, H, W}, K, hidden) under a standard normal (flows/flow.hpp).

    Level l: squeeze (space-to-depth 2 x 2, dsl/squeeze.hpp: F.pixel_unshuffle's order, channel 4c + 2i + j
    holds pixel (2h + i, 2w + j) of channel c), K Glow steps, then, except at the last level, factor_out
    (dsl/factor_out.hpp): the first floor(C/2) channels go to the latent and the next level transforms
    the rest. The latent row is [factored-out channels of level 1, of level 2, ..., the last level's
    output], each channel-major; for <2>({1, 28, 28}): [2 x 14 x 14, 8 x 7 x 7].
    """

    def __init__(self, image, levels, steps, hidden):
        super().__init__()
        channels, height, width = image
        self.image = image
        self.dim = channels * height * width
        self.levels = nn.ModuleList()
        self.kept = []  # channels factored out after each level (0 at the last)
        for level in range(levels):
            channels, height, width = 4 * channels, height // 2, width // 2
            self.levels.append(nn.ModuleList(GlowStep(channels, hidden) for _ in range(steps)))
            kept = channels // 2 if level + 1 < levels else 0
            self.kept.append(kept)
            channels -= kept

    def forward(self, x, log_det=True, initialize=False):
        h = x.reshape(x.shape[0], *self.image)
        total = x.new_zeros(x.shape[0])
        latents = []
        for steps, kept in zip(self.levels, self.kept):
            h = F.pixel_unshuffle(h, 2)
            for step in steps:
                h, ld = step(h, initialize)
                total = total + ld
            if kept:
                latents.append(h[:, :kept].reshape(h.shape[0], -1))
                h = h[:, kept:]
        latents.append(h.reshape(h.shape[0], -1))
        return torch.cat(latents, 1), (total if log_det else None)

    def inverse(self, z, log_det=True):
        n = z.shape[0]
        shapes, (channels, height, width) = [], self.image
        for kept in self.kept:  # the image shape after each level's squeeze
            channels, height, width = 4 * channels, height // 2, width // 2
            shapes.append((channels, height, width))
            channels -= kept
        # Split the latent row back into the factored-out parts and the last level's output.
        offset, parts = 0, []
        for (c, hh, ww), kept in zip(shapes, self.kept):
            size = (kept if kept else c) * hh * ww
            parts.append(z[:, offset : offset + size].reshape(n, kept if kept else c, hh, ww))
            offset += size
        total = z.new_zeros(n)
        h = parts[-1]
        for level in reversed(range(len(self.levels))):
            if self.kept[level]:
                h = torch.cat([parts[level], h], 1)
            for step in reversed(self.levels[level]):
                h, ld = step.inverse(h)
                total = total + ld
            h = F.pixel_shuffle(h, 2)
        return h.reshape(n, -1), (total if log_det else None)

    def log_prob(self, x):
        z, log_det = self(x)
        return -0.5 * (z * z).sum(1) - 0.5 * self.dim * LOG_2PI + log_det

    def data_init(self, x):
        """dsl/data_init.hpp (Flow::initialize): every ActNorm from the batch that reaches it."""
        with torch.no_grad():
            self(x, log_det=False, initialize=True)


# ---- the INN's loss (flows/inn.hpp, flows/mmd.hpp) ---------------------------------------------------


def squared_distances(a, b=None):
    """|u_i - v_j|^2 = |u_i|^2 + |v_j|^2 - 2 u_i . v_j clamped at 0 (flows/mmd.hpp, squared_distances)."""
    norms_a = (a * a).sum(1, keepdim=True)
    if b is None:
        return F.relu(norms_a + norms_a.t() - 2 * (a @ a.t()))
    norms_b = (b * b).sum(1, keepdim=True)
    return F.relu(norms_a + norms_b.t() - 2 * (a @ b.t()))


def inverse_multiquadric(d2, widths):
    """sum_h 1 / (1 + d2 / h^2), written as the C / (C + d2) terms (C = h^2, a = 1) of flows/mmd.hpp."""
    total = None
    for h in widths:
        c = h * h
        term = c / (c + d2)
        total = term if total is None else total + term
    return total


def mmd(x, y, widths):
    """The biased (V-statistic) MMD^2 estimate, flows/mmd.hpp's default estimator."""
    return (
        inverse_multiquadric(squared_distances(x), widths).mean()
        + inverse_multiquadric(squared_distances(y), widths).mean()
        - 2 * inverse_multiquadric(squared_distances(x, y), widths).mean()
    )


# flows/inn.hpp, InnLossOptions: both MMDs use inverse multiquadrics of widths 0.2, 0.5, 0.9, 1.3.
INN_KERNEL_WIDTHS = (0.2, 0.5, 0.9, 1.3)
# examples/inverse_kinematics.cpp: the weights, y noise 0.01; z noise and padding noise keep the
# defaults of flows/inn.hpp (0.02, 0.03). L_x is ramped in over the first half of the example's run;
# the benchmark uses the full weight throughout (the cost of a step does not depend on it).
INN_WEIGHTS = {"y": 300.0, "z": 300.0, "x": 400.0, "padding": 1.0, "reconstruction": 20.0}
INN_Y_NOISE, INN_Z_NOISE, INN_PADDING_NOISE = 0.01, 0.02, 0.03
IK_X, IK_Y, IK_Z = 4, 2, 2  # x (4) -> [y (2), z (2)], width 4 (no padding)


class InnLoss:
    """The bidirectional loss of flows/inn.hpp (detail::inn_loss_program and InnLoss::set_batch).

    x_in = [x, pad_x], v = [y + noise, z ~ N(0, I), pad_yz]; out = f(x_in);
      L_y   = mean_i |y_pred - y|^2
      L_z   = MMD([stop_gradient(y_pred), z_pred], v[:, :y+z])
      L_x   = MMD(f^-1(v)[:, :x], x_in[:, :x])
      L_pad = mean_i |out * out_mask|^2 + mean_i |f^-1(v) * x_mask|^2
      L_rec = mean_i |f^-1(stop_gradient(out) + noise) - x_in|^2
    The flow passes compute no log-det (the program reads only their values).
    """

    def __init__(self, flow, width, batch):
        self.flow = flow
        self.width = width
        self.out_mask = torch.zeros(1, width)
        self.out_mask[:, IK_Y + IK_Z :] = 1
        self.x_mask = torch.zeros(1, width)
        self.x_mask[:, IK_X:] = 1
        self.batch = batch

    def __call__(self, data):
        w, B = self.width, data.shape[0]
        x = data[:, :IK_X]
        y = data[:, IK_X : IK_X + IK_Y]
        pad_x, pad_yz = w - IK_X, w - IK_Y - IK_Z
        # set_batch: the noise and the prior draws of this step.
        x_in = x if pad_x == 0 else torch.cat([x, INN_PADDING_NOISE * torch.randn(B, pad_x)], 1)
        parts = [y + INN_Y_NOISE * torch.randn(B, IK_Y), torch.randn(B, IK_Z)]
        rec = [INN_Y_NOISE * torch.randn(B, IK_Y), INN_Z_NOISE * torch.randn(B, IK_Z)]
        if pad_yz > 0:
            parts.append(INN_PADDING_NOISE * torch.randn(B, pad_yz))
            rec.append(INN_PADDING_NOISE * torch.randn(B, pad_yz))
        v_in = torch.cat(parts, 1)
        rec_noise = torch.cat(rec, 1)

        out, _ = self.flow(x_in, log_det=False)
        y_pred = out[:, :IK_Y]
        l_y = ((y_pred - v_in[:, :IK_Y]) ** 2).sum(1).mean()
        yz_pred = torch.cat([y_pred.detach(), out[:, IK_Y : IK_Y + IK_Z]], 1)
        l_z = mmd(yz_pred, v_in[:, : IK_Y + IK_Z], INN_KERNEL_WIDTHS)
        x_back, _ = self.flow.inverse(v_in, log_det=False)
        l_x = mmd(x_back[:, :IK_X], x_in[:, :IK_X], INN_KERNEL_WIDTHS)
        l_pad = ((out * self.out_mask) ** 2).sum(1).mean() + ((x_back * self.x_mask) ** 2).sum(1).mean()
        x_rec, _ = self.flow.inverse(out.detach() + rec_noise, log_det=False)
        l_rec = ((x_rec - x_in) ** 2).sum(1).mean()
        wt = INN_WEIGHTS
        return wt["y"] * l_y + wt["z"] * l_z + wt["x"] * l_x + wt["padding"] * l_pad + wt["reconstruction"] * l_rec


# ---- the configurations ----------------------------------------------------------------------------


def density2d_realnvp(blocks=8, hidden=64):
    """examples/density2d.cpp, --flow realnvp: blocks x [affine coupling (MLP 1 -> H -> H -> 2), reverse]."""
    layers = []
    for _ in range(blocks):
        layers += [Coupling(2, (hidden, hidden), AffineTransform), Permutation([1, 0])]
    return Flow(2, layers)


def density2d_spline(blocks=8, hidden=64):
    """examples/density2d.cpp, --flow spline: blocks x [RQ spline coupling (8 bins on [-4, 4]), reverse]."""
    layers = []
    for _ in range(blocks):
        layers += [Coupling(2, (hidden, hidden), RationalQuadraticSpline(8, 4.0)), Permutation([1, 0])]
    return Flow(2, layers)


DIGITS_PIXELS, DIGITS_ALPHA, DIGITS_TAIL_BOUND = 64, 0.01, 6.0  # examples/digits.cpp defaults


def digits_flow(transform, blocks, hidden):
    """examples/digits.cpp: logit_layer(0.01), then blocks x [coupling (halves: MLP 32 -> H -> H -> ...),
    permute_random]."""
    layers = [LogitLayer(DIGITS_ALPHA)]
    for _ in range(blocks):
        layers += [Coupling(DIGITS_PIXELS, (hidden, hidden), transform), Permutation(random_order(DIGITS_PIXELS))]
    return Flow(DIGITS_PIXELS, layers)


def ik_inn(blocks=6, hidden=64):
    """examples/inverse_kinematics.cpp, coupling_blocks: blocks x [Glow coupling (MLP 2 -> H -> H -> 4,
    twice), permute_random] on width 4."""
    width = max(IK_X, IK_Y + IK_Z)
    layers = []
    for _ in range(blocks):
        layers += [GlowCoupling(width, (hidden, hidden)), Permutation(random_order(width))]
    return Flow(width, layers)


# Each configuration: the model, its data width and its optimiser, as bijou_worker.cpp trains the Bijou
# model. Adam's eps is 1e-8 everywhere (engine/optim/adam.hpp); the gradient norm is clipped at 10
# (density2d.cpp, digits.cpp, examples/common/inn_comparison.hpp), except fashion_glow's 50. The learning rate stays at
# 1e-3: the examples' cosine schedules are left out on both sides.
CONFIGS = {
    "moons_realnvp": dict(make=lambda: density2d_realnvp(8, 64), width=2, betas=(0.9, 0.999), weight_decay=0.0),
    "8gaussians_spline": dict(make=lambda: density2d_spline(8, 64), width=2, betas=(0.9, 0.999), weight_decay=0.0),
    # No weight decay: bijou_worker.cpp trains the digits flows with fit()'s default, weight_decay 0.
    # (digits.cpp itself defaults to --weight-decay 3, AdamW's decoupled decay, which torch.optim.AdamW
    # matches; set it on both sides together.)
    "digits_realnvp": dict(
        make=lambda: digits_flow(AffineTransform, 8, 256), width=64, betas=(0.9, 0.999), weight_decay=0.0
    ),
    "digits_spline": dict(
        make=lambda: digits_flow(RationalQuadraticSpline(8, DIGITS_TAIL_BOUND), 8, 128),
        width=64,
        betas=(0.9, 0.999),
        weight_decay=0.0,
    ),
    # inn_comparison.hpp, inn_fit_options: Adam betas (0.9, 0.95), no weight decay.
    "ik_inn": dict(make=lambda: ik_inn(6, 64), width=IK_X + IK_Y, betas=(0.9, 0.95), weight_decay=0.0),
    # examples/fashion_mnist.cpp defaults: multiscale_glow<2>({1, 28, 28}, 8 steps per level, hidden 64),
    # batch 64, Adam (0.9, 0.999), gradient-norm clip 50 (its --clip); its warm-up and cosine schedule are
    # left out as for the others. The ActNorms are initialised on training batch 0 (data_init) before
    # the first step.
    "fashion_glow": dict(
        make=lambda: MultiscaleGlow((1, 28, 28), 2, 8, 64),
        width=784,
        betas=(0.9, 0.999),
        weight_decay=0.0,
        max_grad_norm=50.0,
    ),
}
LEARNING_RATE = 1e-3
MAX_GRAD_NORM = 10.0  # the default; a configuration's max_grad_norm overrides it


# ---- the worker ------------------------------------------------------------------------------------


def read_rows(path, width):
    if not os.path.isfile(path):
        raise WorkerError(f"missing data file {path}")
    values = np.fromfile(path, dtype="<f4")
    if values.size == 0 or values.size % width != 0:
        raise WorkerError(f"{path}: {values.size} floats is not a whole number of rows of width {width}")
    return values.reshape(-1, width).astype(np.float32, copy=False)


def load_data(directory, name, width):
    meta_path = os.path.join(directory, name + ".json")
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        S, B, D = int(meta["batches"]), int(meta["batch"]), int(meta["width"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise WorkerError(f"cannot read {meta_path}: {e}") from e
    if D != width:
        raise WorkerError(f"{meta_path}: width {D}, but {name} needs width {width}")
    if S < 1 or B < 2:
        raise WorkerError(f"{meta_path}: needs at least 1 batch of at least 2 rows, got {S} x {B}")
    batches = read_rows(os.path.join(directory, name + ".batches.f32"), D)
    if batches.shape[0] != S * B:
        raise WorkerError(f"{name}.batches.f32 holds {batches.shape[0]} rows, the json says {S} x {B} = {S * B}")
    evaluation = read_rows(os.path.join(directory, name + ".eval.f32"), D)
    return batches.reshape(S, B, D), evaluation


class Worker:
    def __init__(self, name, directory):
        if name not in CONFIGS:
            raise WorkerError(f"unknown config '{name}' (one of {', '.join(CONFIGS)})")
        config = CONFIGS[name]
        self.name = name
        self.inn = name == "ik_inn"
        self.batches, evaluation = load_data(directory, name, config["width"])
        self.model = config["make"]()
        if hasattr(self.model, "data_init"):  # the Glow's ActNorms, on the batch of step 1
            self.model.data_init(torch.from_numpy(np.ascontiguousarray(self.batches[0])))
        self.max_grad_norm = config.get("max_grad_norm", MAX_GRAD_NORM)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.params = params
        if config["weight_decay"] > 0:
            self.optimizer = torch.optim.AdamW(
                params, lr=LEARNING_RATE, betas=config["betas"], eps=1e-8, weight_decay=config["weight_decay"], foreach=True
            )
        else:
            self.optimizer = torch.optim.Adam(params, lr=LEARNING_RATE, betas=config["betas"], eps=1e-8, foreach=True)
        S, B, D = self.batches.shape
        self.step_count = 0
        self.batch_buffer = torch.empty(B, D)  # the training input, refilled every step
        self.eval_rows = evaluation
        self.eval_buffer = torch.empty(evaluation.shape[0], IK_X if self.inn else D)
        if self.inn:
            self.loss = InnLoss(self.model, self.model.dim, B)
            self.eval_y = torch.from_numpy(np.ascontiguousarray(evaluation[:, IK_X : IK_X + IK_Y]))
        else:
            self.loss = lambda x: -self.model.log_prob(x).mean()

    def train(self, n):
        times, loss_value = [], float("nan")
        S = self.batches.shape[0]
        for _ in range(n):
            start = time.perf_counter()
            self.batch_buffer.copy_(torch.from_numpy(self.batches[self.step_count % S]))
            loss = self.loss(self.batch_buffer)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                raise WorkerError(f"{self.name}: non-finite loss {loss_value} at step {self.step_count + 1}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
            if not math.isfinite(float(norm)):
                raise WorkerError(f"{self.name}: non-finite gradient norm at step {self.step_count + 1}")
            self.optimizer.step()
            times.append((time.perf_counter() - start) * 1e3)
            self.step_count += 1
        return {"step_ms": times, "loss": loss_value}

    def log_prob(self, repeats):
        times = []
        source = torch.from_numpy(np.ascontiguousarray(self.eval_rows[:, : self.eval_buffer.shape[1]]))
        with torch.no_grad():
            for _ in range(repeats):
                start = time.perf_counter()
                self.eval_buffer.copy_(source)
                if self.inn:
                    self.model(self.eval_buffer)  # x -> [y, z] (with its log-det, as Flow::forward)
                else:
                    self.model.log_prob(self.eval_buffer)
                times.append((time.perf_counter() - start) * 1e3)
        return {"ms": times}

    def sample(self, repeats):
        times = []
        n = self.eval_rows.shape[0]
        with torch.no_grad():
            for _ in range(repeats):
                start = time.perf_counter()
                if self.inn:
                    # INN::sample_posterior: f^-1([y, z, 0]) with z ~ N(0, I), keep the x part.
                    parts = [self.eval_y, torch.randn(n, IK_Z)]
                    pad = self.model.dim - IK_Y - IK_Z
                    if pad > 0:
                        parts.append(torch.zeros(n, pad))
                    x, _ = self.model.inverse(torch.cat(parts, 1))
                    x = x[:, :IK_X].contiguous()
                else:
                    x, _ = self.model.inverse(torch.randn(n, self.model.dim))
                times.append((time.perf_counter() - start) * 1e3)
        return {"ms": times}

    def memory(self):
        return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    def parameters(self):
        return {"parameters": sum(p.numel() for p in self.params)}


def count_argument(command, words):
    if len(words) != 2:
        raise WorkerError(f"'{command}' takes one count, got '{' '.join(words)}'")
    try:
        value = int(words[1])
    except ValueError:
        raise WorkerError(f"'{command}': '{words[1]}' is not a whole number") from None
    if value < 1:
        raise WorkerError(f"'{command}': the count must be at least 1, got {value}")
    return value


def serve(worker):
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        command = words[0]
        if command == "quit":
            return
        if command == "train":
            reply = worker.train(count_argument(command, words))
        elif command == "log_prob":
            reply = worker.log_prob(count_argument(command, words))
        elif command == "sample":
            reply = worker.sample(count_argument(command, words))
        elif command in ("memory", "params"):
            if len(words) != 1:
                raise WorkerError(f"'{command}' takes no arguments")
            reply = worker.memory() if command == "memory" else worker.parameters()
        else:
            raise WorkerError(f"unknown command '{line.strip()}' (train N, log_prob R, sample R, memory, params, quit)")
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description="PyTorch worker of the Bijou/PyTorch speed comparison.")
    parser.add_argument("--config", required=True, help=", ".join(CONFIGS))
    parser.add_argument("--data", required=True, help="directory written by make_data.py")
    args = parser.parse_args()
    try:
        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # only settable before the first parallel work; the intra-op setting is what matters
        torch.manual_seed(0)
        torch.set_default_dtype(torch.float32)
        serve(Worker(args.config, args.data))
    except WorkerError as e:
        print(f"torch_worker: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # anything unexpected: still a clear message and exit 1
        print(f"torch_worker: {args.config}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
