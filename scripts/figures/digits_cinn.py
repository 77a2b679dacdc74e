"""The figures of examples/digits_cinn.cpp: samples.png and style_transfer.png.

    /usr/bin/python3 scripts/figures/digits_cinn.py out/digits_cinn

What it reads, the program's side of the contract (tests/figures/image_fixtures.py writes the same):
  metrics.json                 image_height, image_width (8), pixel_max (16), temperature, low_temperature,
                               grid_columns, class_consistency, class_consistency_low_temperature,
                               test_nll_bits_per_dim
  samples.npy                  (1000, H * W) float32 on 0..pixel_max at `temperature`, class-major
  samples_low_temperature.npy  (1000, H * W) the same at `low_temperature`
  sample_labels.npy            (1000,) int: the requested class of each row of both
  test_digits.npy              (n, H * W) test digits, up to grid_columns of each class
  test_digit_labels.npy        (n,) int: their classes
  style_base_z.npy             (8 * 10, H * W): row 10 r + c is draw r of z decoded under class c
  style_sources.npy            (8, H * W) test digits; style_source_labels.npy (8,) int: their classes
  style_test_z.npy             (8 * 10, H * W): row 10 r + c is source r's z decoded under class c
What it draws:
  samples.png         (a) samples at `temperature`, (b) at `low_temperature`, one row per class (the
                      first grid_columns samples of each), titled with their class consistency, and
                      (c) test digits of the same classes
  style_transfer.png  (a) a fixed z per row decoded under c = 0..9; (b) a test digit x and its code
                      z = f(x; c_x) decoded under c = 0..9, which carries x's style to every class
"""
import numpy as np

import bijou_figures as bf

CLASSES = 10


def by_class(images, labels, columns, h, w):
    """The first `columns` images of each class as rows of one grid (blank cells where a class has fewer)."""
    out = np.full((CLASSES * columns, h * w), np.nan)
    for k in range(CLASSES):
        mine = images[labels == k][:columns]
        out[k * columns:k * columns + len(mine)] = mine
    return out


def draw_samples(directory, m, h, w):
    columns, top = m["grid_columns"], m["pixel_max"]
    labels = bf.load(directory, "sample_labels.npy")
    panels = [(bf.load(directory, "samples.npy"), m["temperature"], m["class_consistency"]),
              (bf.load(directory, "samples_low_temperature.npy"), m["low_temperature"],
               m["class_consistency_low_temperature"])]
    test = bf.load(directory, "test_digits.npy")
    test_labels = bf.load(directory, "test_digit_labels.npy")
    fig, axes = bf.plt.subplots(1, 3, figsize=(0.24 * 3 * columns + 0.8, 0.26 * CLASSES + 0.9),
                                gridspec_kw={"wspace": 0.08})
    names = [str(k) for k in range(CLASSES)]
    for i, (ax, (samples, temperature, consistency)) in enumerate(zip(axes, panels)):
        bf.image_grid(ax, by_class(samples, labels, columns, h, w), columns, h, w, vmax=top,
                      row_labels=names if i == 0 else None,
                      title=f"({'ab'[i]}) cINN samples, T = {temperature:g}\nclass consistency {consistency:.3f}")
    bf.image_grid(axes[2], by_class(test, test_labels, columns, h, w), columns, h, w, vmax=top,
                  title="(c) test digits\n")
    bf.headline(fig, f"Class-conditional 8x8 digits, one row per class "
                     f"(test {m['test_nll_bits_per_dim']:.3f} bits/dim)")
    bf.save(fig, directory / "samples.png")


def draw_style_transfer(directory, m, h, w):
    top = m["pixel_max"]
    base = bf.load(directory, "style_base_z.npy")
    sources = bf.load(directory, "style_sources.npy")
    transferred = bf.load(directory, "style_test_z.npy")
    rows = len(sources)
    grid_width = CLASSES * (w + 1) - 1  # pixels: the panels share one scale, so their rows line up
    fig, axes = bf.plt.subplots(1, 3, figsize=(6.9, 0.29 * rows + 1.0),
                                gridspec_kw={"width_ratios": [grid_width, w, grid_width], "wspace": 0.06})
    digits = [str(c) for c in range(CLASSES)]
    bf.image_grid(axes[0], base, CLASSES, h, w, vmax=top, column_labels=digits,
                  title="(a) a fixed $z \\sim N(0, T^2 I)$ per row,\ndecoded under $c$ = 0..9")
    bf.image_grid(axes[1], sources, 1, h, w, vmax=top, title="test\ndigit $x$")
    bf.image_grid(axes[2], transferred, CLASSES, h, w, vmax=top, column_labels=digits,
                  title="(b) $f^{-1}(f(x; c_x);\\, c)$: the style of $x$\nunder $c$ = 0..9")
    bf.headline(fig, f"Style transfer with the cINN (T = {m['temperature']:g})")
    bf.save(fig, directory / "style_transfer.png")


def main():
    directory = bf.output_dir()
    m = bf.metrics(directory)
    h, w = m["image_height"], m["image_width"]
    draw_samples(directory, m, h, w)
    draw_style_transfer(directory, m, h, w)


if __name__ == "__main__":
    main()
