"""The figures of examples/fashion_mnist.cpp: samples.png and reconstructions.png.

    /usr/bin/python3 scripts/figures/fashion_mnist.py out/fashion_mnist

What it reads, the program's side of the contract (tests/figures/image_fixtures.py writes the same):
  metrics.json         image_height, image_width (28), pixel_max (255), class_names (10 strings),
                       sample_temperatures (e.g. [0.5, 0.7, 1.0]), conditional (0 or 1), test_bits_per_dim,
                       roundtrip_max_abs_err; conditional runs also consistency_temperatures and
                       class_consistency (one value per consistency temperature)
  samples.npy          (len(sample_temperatures) * 100, H * W) float32 on 0..pixel_max, temperature-major,
                       the same z at every temperature; conditional: row 10 k + j of each block is class k
  test_images.npy      (100, H * W): the first test images (dequantised)
  reconstructions.npy  (100, H * W): f^-1(f(x)) of those
  (conditional runs also write samples_conditional.npy, (1000, H * W), and samples_conditional_labels.npy,
  (1000,) int: the class consistency's samples at T = 0.7, not drawn)
What it draws:
  samples.png          one 10 x 10 panel per temperature, titled with T (and the class consistency at
                       that T); conditional: the class names label the rows
  reconstructions.png  test images x, f^-1(f(x)), and |x - f^-1(f(x))| with its colour bar
"""
import numpy as np

import bijou_figures as bf

PER_TEMPERATURE = 100
COLUMNS = 10


def save_fine(fig, path):
    """At 300 dpi: a 10 x 10 grid of 28 x 28 images needs 2-3 dots per pixel to stay sharp."""
    with bf.plt.rc_context({"savefig.dpi": 300}):
        bf.save(fig, path)


def consistency_at(m, temperature):
    """The class consistency measured at `temperature`, or None."""
    for t, c in zip(m.get("consistency_temperatures", []), m.get("class_consistency", [])):
        if abs(t - temperature) < 1e-9:
            return c
    return None


def draw_samples(directory, m, h, w):
    temperatures = m["sample_temperatures"]
    conditional = bool(m["conditional"])
    samples = bf.load(directory, "samples.npy").reshape(len(temperatures), PER_TEMPERATURE, h * w)
    fig, axes = bf.plt.subplots(1, len(temperatures), figsize=(2.45 * len(temperatures) + 0.9, 3.0),
                                gridspec_kw={"wspace": 0.04})
    for i, (ax, temperature) in enumerate(zip(np.atleast_1d(axes), temperatures)):
        title = f"T = {temperature:g}"
        consistency = consistency_at(m, temperature)
        if consistency is not None:
            title += f"\nclass consistency {consistency:.3f}"
        labels = m["class_names"] if conditional and i == 0 else None
        bf.image_grid(ax, samples[i], COLUMNS, h, w, vmax=m["pixel_max"], row_labels=labels, title=title)
    kind = "class-conditional cINN, one row per class" if conditional else "Glow"
    bf.headline(fig, f"Fashion-MNIST samples, {kind} (test {m['test_bits_per_dim']:.3f} bits/dim)")
    save_fine(fig, directory / "samples.png")


def draw_reconstructions(directory, m, h, w):
    x = bf.load(directory, "test_images.npy")
    back = bf.load(directory, "reconstructions.npy")
    error = np.abs(x.astype(float) - back.astype(float))
    fig, axes = bf.plt.subplots(1, 3, figsize=(8.4, 3.0), gridspec_kw={"wspace": 0.06})
    bf.image_grid(axes[0], x, COLUMNS, h, w, vmax=m["pixel_max"], title="test images $x$")
    bf.image_grid(axes[1], back, COLUMNS, h, w, vmax=m["pixel_max"], title="$f^{-1}(f(x))$")
    # The error is rounding, ~1e-3 of a grey level: shown in units of 10^e so the bar's ticks stay short.
    exponent = int(np.floor(np.log10(max(float(error.max()), 1e-30))))
    scaled = error / 10.0 ** exponent
    bf.image_grid(axes[2], scaled, COLUMNS, h, w, vmin=0, vmax=max(float(scaled.max()), 1e-12), cmap="viridis",
                  title="$|x - f^{-1}(f(x))|$, grey levels")
    colour_axes = axes[2].inset_axes([1.04, 0.0, 0.05, 1.0])
    bar = fig.colorbar(axes[2].images[0], cax=colour_axes)
    bar.set_label(f"$\\times 10^{{{exponent}}}$" if exponent else "grey levels")
    bf.headline(fig, "Reconstructions from the latent code")
    save_fine(fig, directory / "reconstructions.png")


def main():
    directory = bf.output_dir()
    m = bf.metrics(directory)
    h, w = m["image_height"], m["image_width"]
    draw_samples(directory, m, h, w)
    draw_reconstructions(directory, m, h, w)


if __name__ == "__main__":
    main()
