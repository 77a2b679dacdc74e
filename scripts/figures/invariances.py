"""The figures of examples/invariances.cpp: invariances_hidden.png, invariances_logits.png, adversarial.png.

    /usr/bin/python3 scripts/figures/invariances.py out/invariances

What it reads, the program's side of the contract (tests/figures/image_fixtures.py writes the same):
  metrics.json  image_height, image_width (8), pixel_max (16), representations (["hidden", "logits"]),
                figure_samples, adversarial_samples_shown, data_pixel_variance_within_class, attack_epsilon,
                attack_success_rate, and per representation r: r_sample_class_agreement, r_pixel_variance,
                r_adversarial_samples_adversarial_class, r_adversarial_samples_original_class
  invariance_images.npy           (10, H * W) float32 on 0..pixel_max: x, the first test digit of each class
  invariance_labels.npy           (10,) int: their classes
  invariance_reconstructions.npy  (10, H * W): D(E(x))
  invariances_<r>_samples.npy     (10 * figure_samples, H * W), grouped by x: D(z), z ~ p(z | r(x))
  adversarial_originals.npy, adversarial_images.npy, adversarial_reconstructions.npy  (m, H * W): x, x adv
                                  and D(E(x adv)) for up to 8 flipped test digits (absent if none flipped)
  adversarial_labels.npy          (m, 2) int: true class, class after the attack
  adversarial_<r>_samples.npy     (m * adversarial_samples_shown, H * W): D(z), z ~ p(z | r(x adv))
What it draws, as in Rombach, Esser and Ommer (2020):
  invariances_<r>.png  per class a test digit x, its reconstruction D(E(x)) and samples that share the
                       representation r(x): what varies among them is what r is invariant to
  adversarial.png      attacked digits (true class -> class after the attack), x, x adv, D(E(x adv)) and
                       samples sharing the hidden layer and the logits of x adv: what the classifier sees
"""
import bijou_figures as bf

REPRESENTATION_NAMES = {"hidden": "last hidden layer $\\phi(x)$", "logits": "logits"}
SYMBOLS = {"hidden": "\\phi", "logits": "\\mathrm{logits}"}  # r(x) in the panel titles


def symbol(representation):
    return SYMBOLS.get(representation, f"\\mathrm{{{representation}}}")


def columns_figure(panels, rows, h, w, inches_per_row=0.3, min_column_pixels=0):
    """One axes per (images, columns, title, row_labels) panel, side by side at one pixel scale (rows line
    up). A one-column panel is given at least `min_column_pixels` of width, room for its title."""
    widths = [max(columns * (w + 1) - 1, min_column_pixels if columns == 1 else 0) for _, columns, _, _ in panels]
    inches_per_pixel, wspace = inches_per_row / (h + 1), 0.2
    # subplots' default margins leave 77.5% of the width and 77% of the height to the axes; 10% more width
    # than the images need, so that every panel's scale is set by its height, the same for all.
    width = 1.1 * sum(widths) * inches_per_pixel * (1 + wspace * (len(panels) - 1) / len(panels)) / 0.775
    height = (rows * (h + 1) - 1) * inches_per_pixel / 0.77
    fig, axes = bf.plt.subplots(1, len(panels), figsize=(width, height),
                                gridspec_kw={"width_ratios": widths, "wspace": wspace})
    return fig, axes


def draw_invariances(directory, m, representation, h, w, vmax):
    x = bf.load(directory, "invariance_images.npy")
    labels = bf.load(directory, "invariance_labels.npy")
    reconstructions = bf.load(directory, "invariance_reconstructions.npy")
    samples = bf.load(directory, f"invariances_{representation}_samples.npy")
    n = m["figure_samples"]
    panels = [(x, 1, "$x$", [str(k) for k in labels]), (reconstructions, 1, "$D(E(x))$", None),
              (samples, n, f"$D(z)$, $z \\sim p(z \\mid {symbol(representation)}(x))$", None)]
    fig, axes = columns_figure(panels, len(x), h, w)
    for ax, (images, columns, title, row_labels) in zip(axes, panels):
        bf.image_grid(ax, images, columns, h, w, vmax=vmax, title=title, row_labels=row_labels)
    axes[0].set_ylabel("class")
    r = representation
    bf.footnote(fig, f"samples the classifier puts in x's class: {m[r + '_sample_class_agreement']:.0%}; pixel "
                     f"variance among them {m[r + '_pixel_variance']:.2f}\n(between test digits of one class: "
                     f"{m['data_pixel_variance_within_class']:.2f}; 0..16 scale)")
    bf.headline(fig, f"Invariances of the classifier's {REPRESENTATION_NAMES.get(r, r)}")
    bf.save(fig, directory / f"invariances_{r}.png")


def draw_adversarial(directory, m, h, w, vmax):
    if not (directory / "adversarial_images.npy").exists():
        print("no adversarial_images.npy (the attack flipped no test digit): adversarial.png not drawn")
        return
    labels = bf.load(directory, "adversarial_labels.npy").reshape(-1, 2)
    n = m["adversarial_samples_shown"]
    panels = [(bf.load(directory, "adversarial_originals.npy"), 1, "$x$",
               [f"{a} $\\rightarrow$ {b}" for a, b in labels]),
              (bf.load(directory, "adversarial_images.npy"), 1, "$x_\\mathrm{adv}$", None),
              (bf.load(directory, "adversarial_reconstructions.npy"), 1, "$D(E(x_\\mathrm{adv}))$", None)]
    for r in m["representations"]:
        panels.append((bf.load(directory, f"adversarial_{r}_samples.npy"), n,
                       f"$D(z)$, $z \\sim p(z \\mid {symbol(r)}(x_\\mathrm{{adv}}))$", None))
    fig, axes = columns_figure(panels, len(labels), h, w, min_column_pixels=2.6 * w)
    for ax, (images, columns, title, row_labels) in zip(axes, panels):
        bf.image_grid(ax, images, columns, h, w, vmax=vmax, title=title, row_labels=row_labels)
    axes[0].set_ylabel("true class $\\rightarrow$ attacked class")
    seen = "\n".join(f"{r}: {m[r + '_adversarial_samples_adversarial_class']:.0%} attacked class, "
                     f"{m[r + '_adversarial_samples_original_class']:.0%} true class" for r in m["representations"])
    bf.footnote(fig, f"the classes the classifier gives the samples of every flipped test digit\n{seen}")
    bf.headline(fig, f"PGD attack, $\\epsilon$ = {m['attack_epsilon']:g} (success {m['attack_success_rate']:.0%}): "
                     f"what the classifier sees in $x_\\mathrm{{adv}}$")
    bf.save(fig, directory / "adversarial.png")


def main():
    directory = bf.output_dir()
    m = bf.metrics(directory)
    h, w, vmax = m["image_height"], m["image_width"], m["pixel_max"]
    for representation in m["representations"]:
        draw_invariances(directory, m, representation, h, w, vmax)
    draw_adversarial(directory, m, h, w, vmax)


if __name__ == "__main__":
    main()
