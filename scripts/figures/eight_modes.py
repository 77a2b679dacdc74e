"""The figure of examples/eight_modes.cpp: for each label y, the posterior p(x | y) of the INN and of the
cINN, over samples of the true conditional.

    /usr/bin/python3 scripts/figures/eight_modes.py out/eight_modes

Reads (what the program writes; tests/figures/plane_fixtures.py makes the same files for the test), with L the
number of distinct labels (8, or 4 with --labels some) and S the samples per label:
    posterior_inn.npy, posterior_cinn.npy  (L, S, 2) posterior samples of x for each label
    truth.npy                              (L, S, 2) samples of the true p(x | y)
    mode_centres.npy                       (8, 2) the centres of the modes
    metrics.json                           labels, label_of_mode (8 numbers), inn.label_<y>.mmd and
                                           cinn.label_<y>.mmd for each label, true_vs_true.mean_mmd,
                                           inn.steps, cinn.steps
Writes:
    posteriors.png   a row per model, a column per label: the true conditional's samples in grey, 500 of
                     the model's samples on top, the label's modes marked, and in the middle the MMD^2
                     between the model's samples and the truth
"""
import matplotlib.lines as mlines

import bijou_figures as bf

EXTENT = (-4, 4, -4, 4)
MODELS = (("inn", "INN", "#c8402a"), ("cinn", "cINN", "#1f4e9c"))
SHOWN = 500  # model samples drawn per panel


def main():
    out = bf.output_dir()
    m = bf.metrics(out)
    truth = bf.load(out, "truth.npy")
    centres = bf.load(out, "mode_centres.npy")
    label_of_mode = [int(v) for v in m["label_of_mode"]]
    posteriors = {key: bf.load(out, f"posterior_{key}.npy") for key, _, _ in MODELS}
    labels = truth.shape[0]

    side = 0.95  # inches per panel: 8 labels fill the width of a page
    fig, axes = bf.plt.subplots(2, labels, figsize=(side * labels + 0.6, 2 * side + 1.0), sharex=True, sharey=True,
                                layout="constrained", squeeze=False)
    for row, (key, name, colour) in enumerate(MODELS):
        for label in range(labels):
            ax = axes[row, label]
            # The truth in larger dots, so that it shows around a model's samples that cover it.
            ax.scatter(truth[label, :, 0], truth[label, :, 1], s=5, linewidths=0, color="0.78", rasterized=True)
            shown = posteriors[key][label, :SHOWN]
            ax.scatter(shown[:, 0], shown[:, 1], s=0.6, linewidths=0, color=colour, alpha=0.8, rasterized=True)
            own = [k for k in range(len(centres)) if label_of_mode[k] == label]
            ax.scatter(centres[own, 0], centres[own, 1], marker="+", s=30, linewidths=0.8, color="black")
            bf.plane_axes(ax, EXTENT, xlabel="$x_1$" if row == 1 else None,
                          ylabel=f"{name}\n$x_2$" if label == 0 else None)
            if row == 0:
                ax.set_title(f"$y = {label}$")
            # In the middle of the octagon, which no mode reaches.
            ax.text(0, 0, f"MMD$^2$\n{m[f'{key}.label_{label}.mmd']:.1e}", fontsize=6, ha="center", va="center",
                    color="0.25")
            ax.set_xticks([-3, 0, 3])
            ax.set_yticks([-3, 0, 3])
    handles = [mlines.Line2D([], [], ls="none", marker="o", ms=3, color="0.75",
                             label=f"true $p(x \\mid y)$ (MMD$^2$ of two true sets {m['true_vs_true.mean_mmd']:.1e})")]
    handles += [mlines.Line2D([], [], ls="none", marker="o", ms=3, color=colour,
                              label=f"{name} samples ({m[f'{key}.steps']} steps)") for key, name, colour in MODELS]
    handles.append(mlines.Line2D([], [], ls="none", marker="+", ms=6, color="black", label="modes of $y$"))
    # Below the panels (matplotlib 3.6 has no loc="outside ..."; the tight bounding box takes it in).
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=len(handles) if labels > 5 else 2,
               frameon=False)
    fig.suptitle(f"posteriors $p(x \\mid y)$ per label (8 modes, labels '{m['labels']}')")
    bf.save(fig, out / "posteriors.png")


if __name__ == "__main__":
    main()
