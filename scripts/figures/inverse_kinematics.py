"""The figures of examples/inverse_kinematics.cpp: arm configurations x ~ p(x | y*) for the target y*,
from the ABC ground truth, the INN and the cINN, and their marginals.

    /usr/bin/python3 scripts/figures/inverse_kinematics.py out/inverse_kinematics

Reads (what the program writes; tests/figures/plane_fixtures.py makes the same files for the test):
    abc_posterior.npy                      (n, 4) the ABC samples for y* (x1: height on the rail, x2..x4:
                                           joint angles), n <= 4000
    posterior_inn.npy, posterior_cinn.npy  (4000, 4) the models' posterior samples for y*
    metrics.json                           y_star_1, y_star_2, arm_lengths (3 numbers), abc.threshold,
                                           inn.y_star.err_post, inn.y_star.err_resim, the same for cinn,
                                           inn.steps, cinn.steps
Writes:
    arms.png        three panels (ABC, INN, cINN): 200 sampled arms as line segments from the rail to the
                    hand, the model's over the ABC ones in grey, the target y* marked; equal aspect
    marginals.png   the four marginal posteriors p(x_i | y*) of the three, as histograms
"""
import matplotlib.lines as mlines
import numpy as np
from matplotlib.collections import LineCollection

import bijou_figures as bf

EXTENT = (-0.5, 2.5, -1.5, 1.5)
ARMS = 200  # arms drawn per set
ABC_COLOUR = "0.45"
MODELS = (("inn", "INN", "#c8402a"), ("cinn", "cINN", "#1f4e9c"))


def joints(x, lengths):
    """The joints of each arm, (n, 4, 2): the rail attachment (0, x1), two elbows and the hand."""
    points = np.zeros((len(x), 4, 2))
    points[:, 0, 1] = x[:, 0]
    angle = np.zeros(len(x))
    for k, length in enumerate(lengths):
        angle = angle + x[:, k + 1]
        points[:, k + 1, 0] = points[:, k, 0] + length * np.cos(angle)
        points[:, k + 1, 1] = points[:, k, 1] + length * np.sin(angle)
    return points


def draw_arms(ax, x, lengths, colour, alpha, width=0.6):
    arms = joints(x[:ARMS], lengths)
    ax.add_collection(LineCollection(arms, colors=colour, alpha=alpha, linewidths=width, capstyle="round"))
    ax.scatter(arms[:, -1, 0], arms[:, -1, 1], s=2, linewidths=0, color=colour, alpha=min(1, 3 * alpha), zorder=3)


def arms_figure(out, m, abc, models, lengths, target):
    fig, axes = bf.plt.subplots(1, 3, figsize=(7.2, 2.9), sharey=True, layout="constrained")
    panels = [("ABC (ground truth)", None, None, None)]
    panels += [(name, key, colour, models[key]) for key, name, colour in MODELS]
    for ax, (title, key, colour, x) in zip(axes, panels):
        ax.axvline(0, color="0.2", lw=2.5, alpha=0.25, zorder=0)  # the rail
        draw_arms(ax, abc, lengths, ABC_COLOUR, 0.12 if key else 0.25)
        if key:
            draw_arms(ax, x, lengths, colour, 0.25)
            title = (f"{title} ({m[f'{key}.steps']} steps)\nerr$_\\mathrm{{post}}$ {m[f'{key}.y_star.err_post']:.1e}, "
                     f"err$_\\mathrm{{resim}}$ {m[f'{key}.y_star.err_resim']:.3f}")
        else:
            title = f"{title}\n$\\epsilon$ = {m['abc.threshold']:g}, {len(abc)} samples"
        ax.plot(*target, marker="x", ms=7, mew=1.6, color="black", zorder=4, ls="none")
        bf.plane_axes(ax, EXTENT, title, xlabel="$y_1$ (horizontal)",
                      ylabel="$y_2$ (vertical)" if key is None else None)
    handles = [mlines.Line2D([], [], color="0.2", lw=2.5, alpha=0.25, label="rail"),
               mlines.Line2D([], [], color=ABC_COLOUR, lw=1, label="ABC arms")]
    handles += [mlines.Line2D([], [], color=colour, lw=1, label=f"{name} arms") for _, name, colour in MODELS]
    handles.append(mlines.Line2D([], [], color="black", marker="x", ms=6, mew=1.5, ls="none",
                                 label=f"target $y^*$ = ({target[0]:g}, {target[1]:g})"))
    # Below the panels (matplotlib 3.6 has no loc="outside ..."; the tight bounding box takes it in).
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), ncol=len(handles), frameon=False)
    bf.save(fig, out / "arms.png")


def marginals_figure(out, abc, models):
    names = ("$x_1$ (rail height)", "$x_2$ (angle 1)", "$x_3$ (angle 2)", "$x_4$ (angle 3)")
    fig, axes = bf.plt.subplots(1, 4, figsize=(7.2, 2.0), layout="constrained")
    for d, ax in enumerate(axes):
        values = np.concatenate([abc[:, d]] + [models[key][:, d] for key, _, _ in MODELS])
        low, high = np.percentile(values, [0.5, 99.5])
        bins = np.linspace(low, high, 41)
        ax.hist(abc[:, d], bins=bins, density=True, color="0.8", label="ABC")
        for key, name, colour in MODELS:
            ax.hist(models[key][:, d], bins=bins, density=True, histtype="step", color=colour, lw=1.2, label=name)
        ax.set_xlabel(names[d])
        ax.set_yticks([])
    axes[0].set_ylabel("density")
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    fig.suptitle("marginal posteriors $p(x_i \\mid y^*)$")
    bf.save(fig, out / "marginals.png")


def main():
    out = bf.output_dir()
    m = bf.metrics(out)
    abc = bf.load(out, "abc_posterior.npy")
    models = {key: bf.load(out, f"posterior_{key}.npy") for key, _, _ in MODELS}
    lengths = m["arm_lengths"]
    target = (m["y_star_1"], m["y_star_2"])
    arms_figure(out, m, abc, models, lengths, target)
    marginals_figure(out, abc, models)


if __name__ == "__main__":
    main()
