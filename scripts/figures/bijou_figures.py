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


# ---- the plane: 2-D densities and point sets (density2d, two_moons_minimal, eight_modes) ----

def plane_axes(ax, extent, title=None, xlabel="$x_1$", ylabel="$x_2$"):
    """`ax` showing the rectangle extent = (x_min, x_max, y_min, y_max) at equal scale, axes labelled."""
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def histogram_density(points, extent, bins):
    """A 2-D histogram of `points` (n, 2) over extent, normalised as a density (its integral over the
    extent is the fraction of points inside it), as an image: row 0 the top (y = y_max)."""
    counts, _, _ = np.histogram2d(points[:, 0], points[:, 1], bins=bins,
                                  range=[[extent[0], extent[1]], [extent[2], extent[3]]])
    cell = (extent[1] - extent[0]) * (extent[3] - extent[2]) / bins**2
    return counts.T[::-1] / (len(points) * cell)  # histogram2d's first axis is x: transpose, then y up


def histogram_bins(count):
    """Bins per axis for a 2-D histogram of `count` points: about 8 points per bin of the whole square
    (more where the density is high), so that the cells' sampling noise does not drown the shape; a
    multiple of 8, so that on FFJORD's [-4, 4]^2 the cells' edges fall on the integers (the checkerboard's
    squares)."""
    return int(np.clip(8 * round(np.sqrt(count / 8) / 8), 32, 200))


def density_scale_top(model, histogram):
    """The top of a colour scale shared by a model's density and a histogram: the larger of their 99.5th
    percentiles. A histogram's few highest cells are sampling noise, and a flow's density can have thin
    spikes (at the edges of a spline's interval, say) that would otherwise take the whole scale."""
    return max(float(np.nanpercentile(model, 99.5)), float(np.percentile(histogram, 99.5)))


def density_and_histogram(log_density, extent, data, model_title, data_title, label="density $p(x)$"):
    """The figure of a 2-D density estimate: the model's density exp(log_density) (a grid over extent,
    row 0 the top) beside a histogram of `data` normalised as a density, on one colour scale with one
    colour bar (density_scale_top); cells above the scale's top saturate."""
    model = np.exp(np.asarray(log_density, dtype=float))
    histogram = histogram_density(np.asarray(data, dtype=float), extent, histogram_bins(len(data)))
    top = density_scale_top(model, histogram)
    fig, axes = plt.subplots(1, 2, figsize=(6.6, 3.0), layout="constrained")
    for ax, image, title in zip(axes, (model, histogram), (model_title, data_title)):
        shown = ax.imshow(image, extent=tuple(extent), vmin=0, vmax=top, interpolation="nearest")
        plane_axes(ax, extent, title)
    axes[1].set_ylabel(None)
    extend = "max" if max(model.max(), histogram.max()) > top else "neither"
    fig.colorbar(shown, ax=axes, label=label, shrink=0.9, extend=extend)
    return fig
