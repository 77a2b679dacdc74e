"""The figure of examples/two_moons_minimal.cpp: the learned density of the two moons beside the data.

    /usr/bin/python3 scripts/figures/two_moons_minimal.py out/two_moons_minimal

Reads (what the program writes; tests/figures/plane_fixtures.py makes the same files for the test):
    log_density.npy  (200, 200) log p(x) on a grid over the extent, row 0 the top (y = y_max)
    test.npy         (n, 2) the test set
    metrics.json     extent [x_min, x_max, y_min, y_max], test_nll_nats
Writes:
    density.png      the model's density beside a histogram of the test data, one colour scale
"""
import bijou_figures as bf


def main():
    out = bf.output_dir()
    m = bf.metrics(out)
    test = bf.load(out, "test.npy")
    fig = bf.density_and_histogram(bf.load(out, "log_density.npy"), m["extent"], test,
                                   model_title=f"RealNVP, test NLL {m['test_nll_nats']:.3f} nats",
                                   data_title=f"two moons, {len(test)} test points")
    bf.save(fig, out / "density.png")


if __name__ == "__main__":
    main()
