"""The common look of Bijou's figures and the helpers every plotting script shares.

The programs in examples/ write numbers (.npy arrays, metrics.json, CSV logs); the scripts in this
folder turn them into figures with matplotlib (Debian's python3-matplotlib), one script per program:

    /usr/bin/python3 scripts/figures/density2d.py out/density2d     # writes out/density2d/*.png

Every script takes the program's output directory, reads only files in it, and writes its PNGs there.
"""
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")  # files only: no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

plt.rcParams.update({
    "figure.dpi": 150,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "image.cmap": "viridis",
})


def output_dir(argv=None):
    """The program's output directory, the script's one argument; exits with a usage line otherwise."""
    argv = sys.argv if argv is None else argv
    if len(argv) != 2 or not pathlib.Path(argv[1]).is_dir():
        sys.exit(f"usage: {argv[0]} OUTPUT_DIR   (the directory a Bijou program wrote)")
    return pathlib.Path(argv[1])


def metrics(directory):
    """metrics.json of a run, as a dict."""
    with open(pathlib.Path(directory) / "metrics.json") as f:
        return json.load(f)


def load(directory, name):
    """An array the program wrote, with a clear message when it is missing."""
    path = pathlib.Path(directory) / name
    if not path.exists():
        sys.exit(f"{path} is missing: run the program (to its end) before plotting")
    return np.load(path)


def save(fig, path):
    """Writes the figure and closes it; prints where it went."""
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")


def mosaic(images, columns, height, width, gap=1, fill=np.nan):
    """Rows of flattened images (n, height*width) tiled into one array, `columns` per row, separated by
    `gap` pixels of `fill` (NaN shows as the axes' background)."""
    images = np.asarray(images, dtype=float).reshape(-1, height, width)
    rows = -(-len(images) // columns)
    out = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), fill)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (height + gap):r * (height + gap) + height, c * (width + gap):c * (width + gap) + width] = image
    return out


GAP_COLOUR = "0.8"  # the lines between the images of a grid: light grey, seen on white and on black


def image_grid(ax, images, columns, height, width, vmin=0, vmax=255, cmap="gray_r", row_labels=None, title=None,
               column_labels=None):
    """Greyscale images as a grid on `ax`: no ticks, optional label per row and per column (above) and a
    title. The gaps between images are GAP_COLOUR."""
    grid = mosaic(images, columns, height, width)
    colours = matplotlib.colormaps[cmap].copy()
    colours.set_bad(GAP_COLOUR)
    ax.imshow(grid, cmap=colours, vmin=vmin, vmax=vmax, interpolation="nearest")
    if column_labels is not None:
        ax.xaxis.tick_top()
        ax.set_xticks([(width + 1) * c + (width - 1) / 2 for c in range(len(column_labels))])
        ax.set_xticklabels(column_labels)
        ax.tick_params(axis="x", length=0, pad=2)
    else:
        ax.set_xticks([])
    if row_labels is not None:
        ax.set_yticks([(height + 1) * r + (height - 1) / 2 for r in range(len(row_labels))])
        ax.set_yticklabels(row_labels)
        ax.tick_params(axis="y", length=0)
    else:
        ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    return ax


def headline(fig, text, pad_points=4):
    """The figure's title, just above everything drawn so far (the axes with their titles and tick labels),
    however tall those are: a fixed suptitle position either overlaps two-line titles or floats far above."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    top = max(ax.get_tightbbox(renderer).y1 for ax in fig.axes)  # display units
    fig.suptitle(text, y=(top + pad_points * fig.dpi / 72) / fig.bbox.height, va="bottom")


def footnote(fig, text, pad_points=4, fontsize=8):
    """A note (what the figure's numbers say) centred below everything drawn so far."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bottom = min(ax.get_tightbbox(renderer).y0 for ax in fig.axes)  # display units
    fig.text(0.5, (bottom - pad_points * fig.dpi / 72) / fig.bbox.height, text, ha="center", va="top",
             fontsize=fontsize)

