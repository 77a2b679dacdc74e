"""The figures of examples/density2d.cpp: a flow's density on a 2-D toy distribution, and its samples.

    /usr/bin/python3 scripts/figures/density2d.py out/density2d

Reads (what the program writes; tests/figures/plane_fixtures.py makes the same files for the test):
    log_density.npy  (200, 200) log p(x) on a grid over the extent, row 0 the top (y = y_max)
    test.npy         (n, 2) the test set
    samples.npy      (m, 2) samples of the flow
    metrics.json     extent [x_min, x_max, y_min, y_max], data, flow, blocks, steps, test_nll_nats
Writes:
    density.png      the model's density beside a histogram of the test data, one colour scale
    samples.png      a histogram of all samples (the colour scale of density.png) and 2000 of them as points
"""
import numpy as np

import bijou_figures as bf


def samples_figure(samples, extent, top):
    """A histogram of the samples on the colour scale [0, top] of density.png, beside 2000 of them."""
    histogram = bf.histogram_density(samples, extent, bf.histogram_bins(len(samples)))
    fig = bf.plt.figure(figsize=(6.6, 3.0), layout="constrained")
    hist_ax, points_ax = fig.subplots(1, 2)
    colour_ax = hist_ax.inset_axes([1.04, 0, 0.05, 1])  # beside the panel, its height; both panels keep one size
    shown = hist_ax.imshow(histogram, extent=tuple(extent), vmin=0, vmax=top, interpolation="nearest")
    bf.plane_axes(hist_ax, extent, f"histogram of {len(samples)} samples")
    fig.colorbar(shown, cax=colour_ax, label="density", extend="max" if histogram.max() > top else "neither")
    shown_points = samples[:2000]
    points_ax.scatter(shown_points[:, 0], shown_points[:, 1], s=1.5, linewidths=0, color="C0", alpha=0.8,
                      rasterized=True)
    inside = ((samples[:, 0] >= extent[0]) & (samples[:, 0] <= extent[1]) &
              (samples[:, 1] >= extent[2]) & (samples[:, 1] <= extent[3]))
    title = f"{len(shown_points)} of the samples"
    if not inside.all():
        title += f"\n({100 * (1 - inside.mean()):.1f}% of all outside the frame)"
    bf.plane_axes(points_ax, extent, title)
    return fig


def main():
    out = bf.output_dir()
    m = bf.metrics(out)
    extent = m["extent"]
    log_density, test, samples = bf.load(out, "log_density.npy"), bf.load(out, "test.npy"), bf.load(out, "samples.npy")

    fig = bf.density_and_histogram(
        log_density, extent, test,
        model_title=f"model: {m['flow']}, {m['blocks']} blocks, {m['steps']} steps\n"
                    f"test NLL {m['test_nll_nats']:.3f} nats",
        data_title=f"data: {m['data']}\n{len(test)} test points")
    bf.save(fig, out / "density.png")

    # density.png's colour scale, so that the two figures compare directly.
    top = bf.density_scale_top(np.exp(log_density), bf.histogram_density(test, extent, bf.histogram_bins(len(test))))
    bf.save(samples_figure(samples, extent, top), out / "samples.png")


if __name__ == "__main__":
    main()
