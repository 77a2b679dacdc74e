"""Writes the batches of the Bijou/PyTorch speed comparison (bench/compare_pytorch), numpy only.

    python3 bench/compare_pytorch/make_data.py --out DIR [--batches 64] [--eval-rows R] [--seed 0]
                                               [--config NAME ...] [--digits data/digits.csv.gz]
                                               [--fashion-mnist /usr/share/datasets/fashion-mnist]

For every configuration NAME (all six unless --config is given) it writes
    DIR/NAME.json          {"batches": S, "batch": B, "width": D, "eval_rows": R}
    DIR/NAME.batches.f32   raw little-endian float32, shape (S, B, D): training step i uses batch i mod S
    DIR/NAME.eval.f32      raw little-endian float32, R x D, for the log-density and sampling timings
R is each configuration's own eval size (4096 rows; fashion_glow 1024) unless --eval-rows sets one for all.
Both sides of the comparison read the same files, so they train on identical batches.

The data follow the Bijou examples in distribution (not draw for draw: the examples draw from
std::mt19937_64, these from numpy):
    moons, 8gaussians   examples/common/toy_data.hpp (FFJORD's generators); the S x B training points are
                        one data set, eval rows an independent one
    digits              data/digits.csv.gz (examples/common/digits_data.hpp: 1797 images, 64 pixels 0..16),
                        dequantised as examples/common/dequantisation.hpp does: y = (v + u) / 17,
                        u ~ U[0, 1), kept below 1 in float32. Batches go through shuffled epochs of all
                        images, with fresh u for every batch (digits.cpp draws fresh u per minibatch). The
                        flow's own logit layer is in the model, not here.
    ik                  examples/inverse_kinematics.cpp: x1 ~ N(0, 0.25^2), x2..x4 ~ N(0, 0.5^2), and the
                        hand y = f(x) of the arm with segments 0.5, 0.5, 1.0; rows [x1..x4, y1, y2]
    fashion             Fashion-MNIST (Debian's dataset-fashion-mnist: $BIJOU_FASHION_MNIST_DIR, else
                        /usr/share/datasets/fashion-mnist, as examples/common/fashion_mnist_data.hpp finds
                        it), dequantised as examples/fashion_mnist.cpp does, in its model space:
                        v = (x + u) / 256 - 1/2, x in 0..255, u ~ U[0, 1). Rows are the 784 pixels of one
                        1 x 28 x 28 image, row-major (= channel-major NCHW with one channel). Training
                        batches: images through shuffled epochs of the 60000 training images, each stored
                        batch dequantised once with draws of the fixed seed (the example draws fresh u
                        every step; a stored batch reused after S steps repeats its u). Eval rows: test
                        images (t10k), drawn without repeats, dequantised once.
"""

import argparse
import gzip
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name -> (data set, batch size, eval rows); the widths follow from the data set. The Glow's density and
# sampling calls use 1024 rows: at 4096, one PyTorch call takes ~26 s on one thread and peaks at ~1 GB
# resident (against ~6 s and ~0.55 GB at 1024), which would dominate the comparison's running time (18
# timed calls per worker) and its peak-memory column.
CONFIGS = {
    "moons_realnvp": ("moons", 256, 4096),
    "8gaussians_spline": ("8gaussians", 256, 4096),
    "digits_realnvp": ("digits", 256, 4096),
    "digits_spline": ("digits", 256, 4096),
    "ik_inn": ("ik", 250, 4096),
    "fashion_glow": ("fashion", 64, 1024),
}
FASHION_PIXELS = 784


def moons(n, rng):
    """toy_data.hpp, moons: make_moons(n, noise=0.1), then x = 2 p + (-1, -0.2)."""
    outer = n // 2
    inner = n - outer
    a_outer = np.linspace(0, np.pi, outer)
    a_inner = np.linspace(0, np.pi, inner)
    p = np.concatenate(
        [np.stack([np.cos(a_outer), np.sin(a_outer)], 1), np.stack([1 - np.cos(a_inner), 0.5 - np.sin(a_inner)], 1)]
    )
    p = p[rng.permutation(n)]
    p += 0.1 * rng.standard_normal(p.shape)
    return 2 * p + np.array([-1.0, -0.2])


def eight_gaussians(n, rng):
    """toy_data.hpp, 8gaussians: centre 4 (cos k pi/4, sin k pi/4), x = (c + 0.5 z) / 1.414."""
    angle = rng.integers(0, 8, n) * np.pi / 4
    centres = 4 * np.stack([np.cos(angle), np.sin(angle)], 1)
    return (centres + 0.5 * rng.standard_normal((n, 2))) / 1.414


def default_digits_path():
    """digits_data.hpp: $BIJOU_DATA_DIR/digits.csv.gz, else the source tree's data/digits.csv.gz."""
    directory = os.environ.get("BIJOU_DATA_DIR")
    if directory:
        return os.path.join(directory, "digits.csv.gz")
    return os.path.join(REPO, "data", "digits.csv.gz")


def load_digits(path):
    """The 1797 x 64 pixel values (0..16) of data/digits.csv.gz; each line is 64 pixels and the label."""
    with gzip.open(path, "rt") as f:
        rows = [line.split(",") for line in f if line.strip()]
    if not rows or any(len(r) != 65 for r in rows):
        raise ValueError(f"{path}: expected lines of 64 pixels and a label")
    images = np.array([[float(v) for v in r[:64]] for r in rows])
    if images.min() < 0 or images.max() > 16 or np.any(images != np.round(images)):
        raise ValueError(f"{path}: pixel values must be integers 0..16")
    return images


def default_fashion_mnist_dir():
    """fashion_mnist_data.hpp: $BIJOU_FASHION_MNIST_DIR if set, else where dataset-fashion-mnist puts it."""
    directory = os.environ.get("BIJOU_FASHION_MNIST_DIR")
    return directory if directory else "/usr/share/datasets/fashion-mnist"


def load_fashion_mnist(directory, split):
    """The images (n x 784, uint8 0..255, row-major) of one idx file, checked as fashion_mnist_data.hpp does:
    magic 0x00000803, 28 x 28, the exact length."""
    name = "train-images-idx3-ubyte.gz" if split == "train" else "t10k-images-idx3-ubyte.gz"
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise ValueError(f"{path} is missing: apt-get install dataset-fashion-mnist (or set BIJOU_FASHION_MNIST_DIR)")
    with gzip.open(path, "rb") as f:
        data = f.read()
    if len(data) < 16:
        raise ValueError(f"{path}: too short for an idx header")
    magic, count, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in range(0, 16, 4))
    if magic != 0x00000803 or rows != 28 or cols != 28 or len(data) != 16 + count * rows * cols:
        raise ValueError(f"{path}: not an idx file of 28 x 28 images (magic {magic:#010x}, {count} x {rows} x {cols}, "
                         f"{len(data)} bytes)")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows * cols)


def fashion_rows(images, rng):
    """fashion_mnist.cpp, dequantised(): (x + u) / 256 - 1/2 computed in double, stored as float32."""
    return ((images.astype(np.float64) + rng.random(images.shape)) / 256.0 - 0.5).astype(np.float32)


def dequantise(values, rng):
    """dequantisation.hpp: (v + u) / 17 with u ~ U[0, 1), moved below 1 if float32 rounds it up."""
    y = ((values + rng.random(values.shape)) / 17.0).astype(np.float32)
    return np.minimum(y, np.float32(1 - np.finfo(np.float32).eps / 2))


def digits_rows(images, count, rng):
    """count images taken through shuffled epochs of all images (as fit() walks its training set)."""
    picks = []
    while sum(len(p) for p in picks) < count:
        picks.append(rng.permutation(len(images)))
    return images[np.concatenate(picks)[:count]]


def ik_rows(n, rng):
    """inverse_kinematics.cpp: x ~ prior and the hand position y = f(x)."""
    x = rng.standard_normal((n, 4)) * np.array([0.25, 0.5, 0.5, 0.5])
    a = x[:, 1]
    b = a + x[:, 2]
    c = b + x[:, 3]
    y1 = 0.5 * np.cos(a) + 0.5 * np.cos(b) + 1.0 * np.cos(c)
    y2 = x[:, 0] + 0.5 * np.sin(a) + 0.5 * np.sin(b) + 1.0 * np.sin(c)
    return np.concatenate([x, np.stack([y1, y2], 1)], 1)


def make(data, batches, batch, eval_rows, seed, digits_path, fashion_dir):
    """(batches x batch x width, eval_rows x width) float32 arrays for one data set."""
    train_rng = np.random.default_rng([seed, 1])
    eval_rng = np.random.default_rng([seed, 2])
    n = batches * batch
    if data == "moons":
        train, evaluation = moons(n, train_rng), moons(eval_rows, eval_rng)
    elif data == "8gaussians":
        train, evaluation = eight_gaussians(n, train_rng), eight_gaussians(eval_rows, eval_rng)
    elif data == "digits":
        images = load_digits(digits_path)
        # Fresh dequantisation noise per row, so every batch (and every use of an image) differs.
        train = dequantise(digits_rows(images, n, train_rng), train_rng)
        evaluation = dequantise(digits_rows(images, eval_rows, eval_rng), eval_rng)
    elif data == "ik":
        train, evaluation = ik_rows(n, train_rng), ik_rows(eval_rows, eval_rng)
    elif data == "fashion":
        images = load_fashion_mnist(fashion_dir, "train")
        test = load_fashion_mnist(fashion_dir, "test")
        if eval_rows > len(test):
            raise ValueError(f"fashion: at most {len(test)} eval rows (the test images), asked for {eval_rows}")
        picks = digits_rows(images, n, train_rng).reshape(batches, batch, FASHION_PIXELS)
        # One dequantisation draw per stored batch, in batch order.
        train = np.concatenate([fashion_rows(p, train_rng) for p in picks])
        evaluation = fashion_rows(test[eval_rng.permutation(len(test))[:eval_rows]], eval_rng)
    else:
        raise ValueError(f"unknown data set {data}")
    width = train.shape[1]
    return train.astype("<f4").reshape(batches, batch, width), evaluation.astype("<f4")


def write(out, name, train, evaluation):
    S, B, D = train.shape
    train.tofile(os.path.join(out, name + ".batches.f32"))
    evaluation.tofile(os.path.join(out, name + ".eval.f32"))
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"batches": S, "batch": B, "width": D, "eval_rows": evaluation.shape[0]}, f)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description="Batches for the Bijou/PyTorch speed comparison.")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--batches", type=int, default=64, help="distinct training batches S (default 64)")
    parser.add_argument("--eval-rows", type=int, default=0,
                        help="rows of every eval set (default: each configuration's, 4096; fashion_glow 1024)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", action="append", choices=sorted(CONFIGS), help="only these (repeatable)")
    parser.add_argument("--batch", type=int, default=0, help="override every configuration's batch size")
    parser.add_argument("--digits", default=default_digits_path(), help="the digits data (digits.csv.gz)")
    parser.add_argument("--fashion-mnist", default=default_fashion_mnist_dir(),
                        help="the directory of Fashion-MNIST's idx files (train-images-idx3-ubyte.gz, ...)")
    args = parser.parse_args()
    if args.batches < 1 or args.eval_rows < 0 or args.eval_rows == 1 or args.batch < 0 or args.batch == 1:
        print("make_data: --batches must be >= 1, --eval-rows >= 2 and --batch >= 2", file=sys.stderr)
        sys.exit(1)
    try:
        os.makedirs(args.out, exist_ok=True)
        for name in args.config or CONFIGS:
            data, batch, eval_rows = CONFIGS[name]
            train, evaluation = make(data, args.batches, args.batch or batch, args.eval_rows or eval_rows, args.seed,
                                     args.digits, args.fashion_mnist)
            write(args.out, name, train, evaluation)
            print(f"make_data: {name}: {train.shape[0]} batches of {train.shape[1]} x {train.shape[2]}, "
                  f"{evaluation.shape[0]} eval rows -> {args.out}")
    except (OSError, ValueError) as e:
        print(f"make_data: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
