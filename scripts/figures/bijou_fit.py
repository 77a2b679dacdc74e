"""Figures of a 2-D model made by `bijou fit`: density.png and samples.png in the model directory.

    /usr/bin/python3 scripts/figures/bijou_fit.py MODEL_DIR

Reads (written by examples/bijou/fit.cpp for unconditional 2-D data):
    metrics.json        "figure_extent": [x_min, x_max, y_min, y_max], "flow", "validation_nll_nats"
    figure_density.npy  (200, 200) log p(x) in nats; row i is y = y_min + (i + 1/2) dy, column j x likewise
    figure_data.npy     (n, 2) up to 20000 rows of the training data
    samples.npy         (m, 2) samples of the model
"""
import numpy as np

import bijou_figures as bf


def main():
    directory = bf.output_dir()
    m = bf.metrics(directory)
    x_min, x_max, y_min, y_max = m["figure_extent"]
    extent = (x_min, x_max, y_min, y_max)
    log_density = bf.load(directory, "figure_density.npy")
    data = bf.load(directory, "figure_data.npy")
    samples = bf.load(directory, "samples.npy")
    bins = [np.linspace(x_min, x_max, 101), np.linspace(y_min, y_max, 101)]
    nll = m.get("validation_nll_nats")
    title = f"{m['flow']} flow" + (f", validation NLL {nll:.3f} nats" if nll is not None else "")

    fig, axes = bf.plt.subplots(1, 2, figsize=(8.4, 3.6), constrained_layout=True)
    density = np.exp(log_density)
    image = axes[0].imshow(density, origin="lower", extent=extent, aspect="auto", cmap="viridis")
    fig.colorbar(image, ax=axes[0], label="p(x)")
    axes[0].set_title(title)
    counts, _, _, hist = axes[1].hist2d(data[:, 0], data[:, 1], bins=bins, density=True, cmap="viridis")
    fig.colorbar(hist, ax=axes[1], label="density of the data")
    axes[1].set_title(f"data ({len(data)} rows)")
    for ax in axes:
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    bf.save(fig, directory / "density.png")

    fig, axes = bf.plt.subplots(1, 2, figsize=(8.4, 3.6), constrained_layout=True)
    _, _, _, hist = axes[0].hist2d(samples[:, 0], samples[:, 1], bins=bins, density=True, cmap="viridis")
    fig.colorbar(hist, ax=axes[0], label="density of the samples")
    axes[0].set_title(f"{len(samples)} samples of the model")
    shown = min(len(data), 2000)
    axes[1].scatter(data[:shown, 0], data[:shown, 1], s=2, alpha=0.5, color="0.6", label="data", rasterized=True)
    axes[1].scatter(samples[:shown, 0], samples[:shown, 1], s=2, alpha=0.5, color="C3", label="samples", rasterized=True)
    axes[1].set_xlim(x_min, x_max)
    axes[1].set_ylim(y_min, y_max)
    axes[1].set_title(f"{shown} samples over {shown} data points")
    axes[1].legend(loc="upper right", markerscale=4)
    for ax in axes:
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    bf.save(fig, directory / "samples.png")


if __name__ == "__main__":
    main()
