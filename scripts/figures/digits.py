"""The figure of examples/digits.cpp: samples.png.

    /usr/bin/python3 scripts/figures/digits.py out/digits

What it reads, the program's side of the contract (tests/figures/image_fixtures.py writes the same):
  metrics.json     flow (name), test_bits_per_dim, image_height, image_width (8), pixel_max (16),
                   sample_temperatures (e.g. [1, 0.75])
  samples.npy      (len(sample_temperatures) * 100, H * W) float32 on 0..pixel_max, temperature-major,
                   the same z at every temperature
  test_digits.npy  (100, H * W): the first 100 test digits
What it draws:
  samples.png      one 10 x 10 panel of samples per temperature beside 100 test digits
"""
import bijou_figures as bf

PER_TEMPERATURE = 100
COLUMNS = 10
FLOW_NAMES = {"spline": "neural spline flow", "realnvp": "RealNVP", "glow": "Glow"}


def main():
    directory = bf.output_dir()
    m = bf.metrics(directory)
    h, w, top = m["image_height"], m["image_width"], m["pixel_max"]
    temperatures = m["sample_temperatures"]
    samples = bf.load(directory, "samples.npy").reshape(len(temperatures), PER_TEMPERATURE, h * w)
    test = bf.load(directory, "test_digits.npy")

    panels = len(temperatures) + 1
    fig, axes = bf.plt.subplots(1, panels, figsize=(2.8 * panels, 3.1), gridspec_kw={"wspace": 0.06})
    for ax, temperature, block in zip(axes, temperatures, samples):
        bf.image_grid(ax, block, COLUMNS, h, w, vmax=top, title=f"samples, T = {temperature:g}")
    bf.image_grid(axes[-1], test, COLUMNS, h, w, vmax=top, title="test digits")
    flow = FLOW_NAMES.get(m["flow"], m["flow"])
    bf.headline(fig, f"8x8 digits, {flow} (test {m['test_bits_per_dim']:.3f} bits/dim)")
    bf.save(fig, directory / "samples.png")


if __name__ == "__main__":
    main()
