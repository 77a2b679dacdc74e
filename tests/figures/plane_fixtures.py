"""Small stand-ins for what the 2-D programs write (density2d, two_moons_minimal, eight_modes,
inverse_kinematics), and the test that their plotting scripts (scripts/figures/<program>.py) draw them.

    /usr/bin/python3 tests/figures/plane_fixtures.py density2d WORK_DIR

writes the fixture of that case into WORK_DIR/<case>/ (cheap synthetic numbers with the file names,
shapes, dtypes and metrics.json keys the program writes), runs the script on it and fails unless the
script succeeds and every PNG it should draw is a PNG of at least 300 x 150 pixels. It also fails when
the fixture and the program disagree: the .npy files of the fixture are not exactly those the program's
header comment (examples/<program>.cpp) names, or a metrics.json key is not spelled from the program's
string literals (and numbers, for keys such as inn.label_3.mmd); or when the script's docstring, its
contract, does not name a file it is given. A change to a program's output must change all three.
CTest runs every case (tests/figures/CMakeLists.txt).
"""
import json
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np

from fixture_checks import ROOT, check_pngs, header_comment, program_source, spelled_from, string_literals
rng = np.random.default_rng(0)


def _write(directory, arrays, metrics):
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        np.save(directory / name, array)
    with open(directory / "metrics.json", "w") as f:
        json.dump(metrics, f, indent=2)


def _checkerboard(n):
    """FFJORD's checkerboard, as examples/common/toy_data.hpp draws it."""
    x1 = rng.uniform(0, 1, n) * 4 - 2
    x2 = rng.uniform(0, 1, n) - rng.integers(0, 2, n) * 2 + np.floor(x1) % 2
    return (np.stack([x1, x2], axis=1) * 2).astype(np.float32)


def _log_density_grid(extent, side, log_density):
    """log_density at the cell centres of a side x side grid over extent, row 0 the top (extent.hpp)."""
    dx, dy = (extent[1] - extent[0]) / side, (extent[3] - extent[2]) / side
    x = extent[0] + (np.arange(side) + 0.5) * dx
    y = extent[3] - (np.arange(side) + 0.5) * dy
    xx, yy = np.meshgrid(x, y)
    return log_density(xx, yy).astype(np.float32)


def _gaussian_log_density(xx, yy, sigma=1.5):
    return -(xx**2 + yy**2) / (2 * sigma**2) - np.log(2 * np.pi * sigma**2)


def density2d(directory):
    extent = [-4.0, 4.0, -4.0, 4.0]
    samples = _checkerboard(10000) + rng.normal(0, 0.1, (10000, 2)).astype(np.float32)
    _write(directory,
           {"log_density.npy": _log_density_grid(extent, 200, _gaussian_log_density),
            "test.npy": _checkerboard(20000),
            "samples.npy": samples},
           {"data": "checkerboard", "flow": "spline", "blocks": 8, "hidden": 64, "batch": 256, "steps": 300,
            "parameters": 12345, "test_nll_nats": 3.61, "train_nll_nats": 3.60, "step_ms_median": 5.0,
            "samples_per_s": 1e5, "density_eval_per_s": 1e6, "roundtrip_max_abs_err": 1e-6, "blas_threads": 1,
            "extent": extent})


def two_moons_minimal(directory):
    extent = [-4.0, 4.0, -4.0, 4.0]
    angle = rng.uniform(0, np.pi, 5000)
    upper = rng.integers(0, 2, 5000).astype(bool)
    moons = np.where(upper[:, None], np.stack([np.cos(angle), np.sin(angle)], 1),
                     np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], 1))
    test = ((moons - [0.5, 0.25]) * 3 + rng.normal(0, 0.1, (5000, 2))).astype(np.float32)
    _write(directory,
           {"log_density.npy": _log_density_grid(extent, 200, _gaussian_log_density),
            "test.npy": test},
           {"test_nll_nats": 2.1, "step_ms_median": 1.2, "extent": extent})


def eight_modes(directory, labels="all", samples=300):
    centres = np.array([[-2.4142, 1.0], [-1.0, 2.4142], [1.0, 2.4142], [2.4142, 1.0],
                        [2.4142, -1.0], [1.0, -2.4142], [-1.0, -2.4142], [-2.4142, -1.0]], dtype=np.float32)
    label_of_mode = [0, 1, 2, 3, 4, 5, 6, 7] if labels == "all" else [0, 0, 0, 0, 1, 1, 2, 3]
    count = max(label_of_mode) + 1

    def conditional(label, sigma):
        own = [k for k in range(8) if label_of_mode[k] == label]
        picked = centres[rng.choice(own, samples)]
        return (picked + rng.normal(0, sigma, (samples, 2))).astype(np.float32)

    truth = np.stack([conditional(label, 0.2) for label in range(count)])
    inn = np.stack([conditional(label, 0.3) for label in range(count)])
    cinn = np.stack([conditional(label, 0.22) for label in range(count)])
    metrics = {"labels": labels, "distinct_labels": count}
    for label in range(count):
        for model, mmd in (("inn", 0.02), ("cinn", 0.003)):
            metrics[f"{model}.label_{label}.mmd"] = mmd
            metrics[f"{model}.label_{label}.correct_mode_fraction"] = 0.99
            metrics[f"{model}.label_{label}.within_3_sigma_fraction"] = 0.95
        metrics[f"true_vs_true.label_{label}.mmd"] = 0.0005
    metrics.update({"inn.mean_mmd": 0.02, "inn.mean_correct_mode_fraction": 0.99,
                    "inn.mean_within_3_sigma_fraction": 0.95, "inn.forward_accuracy": 0.99,
                    "cinn.mean_mmd": 0.003, "cinn.mean_correct_mode_fraction": 0.99,
                    "cinn.mean_within_3_sigma_fraction": 0.98, "true_vs_true.mean_within_3_sigma_fraction": 0.989,
                    "true_vs_true.mean_mmd": 0.0005, "inn.train_seconds": 10.0, "inn.step_ms_median": 5.0,
                    "cinn.train_seconds": 5.0, "cinn.step_ms_median": 2.5, "inn.steps": 100, "cinn.steps": 100,
                    "batch": 500, "blocks": 4, "hidden": 64, "samples_per_label": samples, "seed": 1,
                    "label_of_mode": [float(v) for v in label_of_mode], "wall_seconds": 20.0})
    _write(directory,
           {"truth.npy": truth, "posterior_inn.npy": inn, "posterior_cinn.npy": cinn, "mode_centres.npy": centres},
           metrics)


def eight_modes_some(directory):
    eight_modes(directory, labels="some")


def inverse_kinematics(directory):
    def prior(n, spread=1.0):
        x = rng.normal(0, 1, (n, 4)) * [0.25, 0.5, 0.5, 0.5]
        return x * spread

    lengths = [0.5, 0.5, 1.0]
    metrics = {"y_star_1": 1.5, "y_star_2": 0.0}
    for k, eps in enumerate([0.04, 0.02, 0.01, 0.005, 0.0025, 0.00125]):
        metrics.update({f"abc.level_{k}.threshold": eps, f"abc.level_{k}.acceptance": 0.01 * eps,
                        f"abc.level_{k}.mmd_to_next": 1e-5, f"abc.level_{k}.mmd_to_finest": 1e-5})
    metrics.update({"abc.threshold": 0.00125, "abc.sampling_noise_mmd": 1e-5, "abc.converged_from_threshold": 0.01,
                    "abc.test_threshold": 0.01, "abc.test_samples": 1000, "abc.test_fewest_samples": 1000,
                    "abc.test_seconds": 1.0})
    for model in ("inn", "cinn"):
        metrics.update({f"{model}.y_star.err_post": 0.01, f"{model}.y_star.err_resim": 0.02,
                        f"{model}.y_star.sampling_seconds": 0.01, f"{model}.test.err_post_mean": 0.01,
                        f"{model}.test.err_post_median": 0.01, f"{model}.test.err_resim_mean": 0.02,
                        f"{model}.test.calibration_error_median": 0.01, f"{model}.test.calibration_error_mean": 0.01,
                        f"{model}.test.calibration_error_q68": 0.01, f"{model}.test.sampling_seconds_median": 0.01})
    metrics.update({"abc.y_star.err_resim": 0.001, "inn.train_seconds": 10.0, "inn.step_ms_median": 5.0,
                    "cinn.train_seconds": 5.0, "cinn.step_ms_median": 2.5, "inn.steps": 100, "cinn.steps": 100,
                    "batch": 250, "blocks": 6, "hidden": 64, "test_observations": 100, "seed": 1,
                    "arm_lengths": lengths, "wall_seconds": 30.0})
    _write(directory,
           {"posterior_inn.npy": prior(4000, 1.2).astype(np.float32),
            "posterior_cinn.npy": prior(4000).astype(np.float32),
            "abc_posterior.npy": prior(3900)},  # float64, and fewer than 4000 rows, as the program may write
           metrics)


FIXTURES = {"density2d": density2d, "two_moons_minimal": two_moons_minimal, "eight_modes": eight_modes,
            "eight_modes_some": eight_modes_some, "inverse_kinematics": inverse_kinematics}


# ---- the checks ----

# case -> (program, the PNGs its script writes)
CASES = {
    "density2d": ("density2d", ["density.png", "samples.png"]),
    "two_moons_minimal": ("two_moons_minimal", ["density.png"]),
    "eight_modes": ("eight_modes", ["posteriors.png"]),
    "eight_modes_some": ("eight_modes", ["posteriors.png"]),
    "inverse_kinematics": ("inverse_kinematics", ["arms.png", "marginals.png"]),
}


def check_contract(program, directory, failures):
    source = program_source(program)
    named = set(re.findall(r"\b(\w+\.npy)\b", header_comment(source)))
    written = {path.name for path in directory.glob("*.npy")}
    if named != written:
        failures.append(f"examples/{program}.cpp's header names {sorted(named)}, the fixture writes {sorted(written)}")
    literals = string_literals(source)
    for key in json.loads((directory / "metrics.json").read_text()):
        if not spelled_from(key, literals):
            failures.append(f"the fixture's metrics.json key '{key}' is not in examples/{program}.cpp")
    script = (ROOT / "scripts" / "figures" / f"{program}.py").read_text()
    docstring = script.split('"""')[1] if script.startswith('"""') else ""
    for name in sorted(written):
        if name not in docstring:
            failures.append(f"scripts/figures/{program}.py's docstring does not name {name}, which it reads")


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in CASES:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(CASES)}}} WORK_DIR")
    case = sys.argv[1]
    program, pngs = CASES[case]
    directory = pathlib.Path(sys.argv[2]) / case
    shutil.rmtree(directory, ignore_errors=True)
    FIXTURES[case](directory)

    failures = []
    check_contract(program, directory, failures)
    script = ROOT / "scripts" / "figures" / f"{program}.py"
    run = subprocess.run([sys.executable, str(script), str(directory)], capture_output=True, text=True)
    sys.stdout.write(run.stdout)
    sys.stderr.write(run.stderr)
    if run.returncode != 0:
        failures.append(f"{script.name} exited with {run.returncode}")
    else:
        failures += check_pngs(directory, pngs, case)
    for failure in failures:
        print(f"FAILED: {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
