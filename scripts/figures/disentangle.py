"""The figures of examples/disentangle.cpp: swap.png and style.png, the two factor-swap tables.

    /usr/bin/python3 scripts/figures/disentangle.py out/disentangle

What it reads, the program's side of the contract (tests/figures/image_fixtures.py writes the same):
  metrics.json         image_height, image_width (8), pixel_max (16), class_dims, latent, test_pairs,
                       swap_takes_donor_class, residual_swap_keeps_class, raw_latent_swap_takes_donor_class
  swap_top.npy         (C, H * W) float32 on 0..pixel_max: the table's top row (test digits)
  swap_top_labels.npy  (C,) int
  swap_left.npy        (R, H * W): the table's left column; swap_left_labels.npy (R,) int
  swap_class.npy       (R * C, H * W), row C r + c: D(T^-1(y_class of top c, y_residual of left r))
  swap_residual.npy    (R * C, H * W), row C r + c: D(T^-1(y_class of left r, y_residual of top c))
What it draws, as in the IIN paper's swap figures (Esser et al. 2020): a table whose top row and left
column are test digits and whose cell (r, c) combines one factor of each:
  swap.png   the class factor from the top row, the residual (style) from the left column
  style.png  the residual from the top row, the class factor from the left column
"""
import bijou_figures as bf


def table(directory, m, cells_file, top_role, left_role, title, caption, out_name):
    h, w, vmax = m["image_height"], m["image_width"], m["pixel_max"]
    top = bf.load(directory, "swap_top.npy")
    left = bf.load(directory, "swap_left.npy")
    cells = bf.load(directory, cells_file)
    columns, rows = len(top), len(left)
    grid_w, grid_h = columns * (w + 1) - 1, rows * (h + 1) - 1
    fig, axes = bf.plt.subplots(2, 2, figsize=(0.3 * columns + 1.6, 0.3 * rows + 1.5),
                                gridspec_kw={"width_ratios": [w, grid_w], "height_ratios": [h, grid_h],
                                             "wspace": 0.04, "hspace": 0.04})
    axes[0, 0].axis("off")
    bf.image_grid(axes[0, 1], top, columns, h, w, vmax=vmax)
    bf.image_grid(axes[1, 0], left, 1, h, w, vmax=vmax)
    bf.image_grid(axes[1, 1], cells, columns, h, w, vmax=vmax)
    axes[0, 1].set_title(f"{top_role} from this row", fontsize=9)
    axes[1, 0].set_ylabel(f"{left_role} from this column", fontsize=9)
    bf.headline(fig, title)
    bf.footnote(fig, caption)
    bf.save(fig, directory / out_name)


def main():
    directory = bf.output_dir()
    m = bf.metrics(directory)
    k, d, pairs = m["class_dims"], m["latent"], m["test_pairs"]
    table(directory, m, "swap_class.npy", "class factor", "residual",
          f"Swapping the class factor of $y = T(E(x))$ (its first {k} of {d} coordinates)",
          f"On {pairs} test pairs the classifier sees the top digit's class in "
          f"{m['swap_takes_donor_class']:.0%} of the swaps\n(swapping the same coordinates of $E(x)$ "
          f"without the INN: {m['raw_latent_swap_takes_donor_class']:.0%})",
          "swap.png")
    table(directory, m, "swap_residual.npy", "residual", "class factor",
          "Swapping the residual (style) factor",
          f"On {pairs} test pairs the digit keeps its class in {m['residual_swap_keeps_class']:.0%} "
          f"of the residual swaps",
          "style.png")


if __name__ == "__main__":
    main()
