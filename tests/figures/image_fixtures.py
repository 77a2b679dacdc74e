"""Small stand-ins for what the image programs write (digits, digits_cinn, disentangle, fashion_mnist,
invariances), and the test that their plotting scripts (scripts/figures/<program>.py) draw them.

    /usr/bin/python3 tests/figures/image_fixtures.py fashion_mnist WORK_DIR

writes the fixtures of that program into WORK_DIR/<program>/<variant>/ (random images of the right shapes
and scales, metrics.json with the keys the script reads), runs the script on each and fails unless it
succeeds and every PNG it should draw is a PNG of at least 300 x 150 pixels. It also fails when the
fixture and the program disagree: the .npy files of the fixtures are not exactly those the program's
header comment names, or a metrics.json key is not spelled from the program's string literals; or when
the script's docstring, its contract, does not name a file it is given. The shapes follow what the
program writes (its header comment); a change to a program's output must change all three.
"""
import json
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np

from fixture_checks import ROOT, check_pngs, header_comment, program_source, spelled_from, string_literals
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
rng = np.random.default_rng(0)


def images(n, side, top):
    """n random images as rows, float32 on 0..top: a blob on a noisy background, so a grid is not flat."""
    yy, xx = np.mgrid[0:side, 0:side] / (side - 1)
    centres = rng.uniform(0.3, 0.7, size=(n, 2))
    blob = np.exp(-((yy[None] - centres[:, :1, None]) ** 2 + (xx[None] - centres[:, 1:, None]) ** 2) / 0.05)
    noisy = blob + 0.1 * rng.random((n, side, side))
    return (top * np.clip(noisy, 0, 1)).reshape(n, side * side).astype(np.float32)


def write(directory, metrics, arrays):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2))
    for name, array in arrays.items():
        np.save(directory / name, array)


# ---- one fixture per program: (variant directory name, metrics, arrays, PNGs the script must draw) ----

def fashion_mnist():
    for conditional in (1, 0):
        temperatures = [0.5, 0.7, 1.0]
        metrics = {"conditional": float(conditional), "test_bits_per_dim": 3.731, "roundtrip_max_abs_err": 4.6e-6,
                   "image_height": 28, "image_width": 28, "pixel_max": 255, "class_names": FASHION_CLASSES,
                   "sample_temperatures": temperatures}
        arrays = {"samples.npy": images(100 * len(temperatures), 28, 255),
                  "test_images.npy": images(100, 28, 255)}
        arrays["reconstructions.npy"] = arrays["test_images.npy"] + rng.normal(0, 1e-3, (100, 784)).astype(np.float32)
        if conditional:
            metrics.update({"consistency_temperatures": temperatures, "class_consistency": [0.63, 0.59, 0.50]})
            arrays["samples_conditional.npy"] = images(1000, 28, 255)
            arrays["samples_conditional_labels.npy"] = np.repeat(np.arange(10, dtype=np.int32), 100)
        yield ("conditional" if conditional else "unconditional"), metrics, arrays, ["samples.png",
                                                                                   "reconstructions.png"]


def digit_images(n):
    """n random 8x8 digits as rows on the 0..16 scale, integers as the program's samples are."""
    return np.floor(images(n, 8, 16.99)).astype(np.float32)


def digits():
    metrics = {"flow": "spline", "test_bits_per_dim": 1.944, "image_height": 8, "image_width": 8, "pixel_max": 16,
               "sample_temperatures": [1.0, 0.75]}
    yield "spline", metrics, {"samples.npy": digit_images(200), "test_digits.npy": digit_images(100)}, ["samples.png"]


def digits_cinn():
    metrics = {"image_height": 8, "image_width": 8, "pixel_max": 16, "temperature": 1.0, "low_temperature": 0.7,
               "grid_columns": 12, "class_consistency": 0.93, "class_consistency_low_temperature": 0.97,
               "test_nll_bits_per_dim": 2.05}
    labels = np.repeat(np.arange(10, dtype=np.int32), 100)
    test_labels = np.repeat(np.arange(10, dtype=np.int32), 12)[:-3]  # the last class a few short
    arrays = {"samples.npy": digit_images(1000), "samples_low_temperature.npy": digit_images(1000),
              "sample_labels.npy": labels, "test_digits.npy": digit_images(len(test_labels)),
              "test_digit_labels.npy": test_labels, "style_base_z.npy": digit_images(80),
              "style_sources.npy": digit_images(8), "style_source_labels.npy": np.arange(8, dtype=np.int32),
              "style_test_z.npy": digit_images(80)}
    yield "default", metrics, arrays, ["samples.png", "style_transfer.png"]


def disentangle():
    metrics = {"image_height": 8, "image_width": 8, "pixel_max": 16, "class_dims": 6, "latent": 12,
               "test_pairs": 2000, "swap_takes_donor_class": 0.81, "residual_swap_keeps_class": 0.93,
               "raw_latent_swap_takes_donor_class": 0.35}
    arrays = {"swap_top.npy": digit_images(10), "swap_top_labels.npy": np.arange(10, dtype=np.int32),
              "swap_left.npy": digit_images(8), "swap_left_labels.npy": np.arange(8, dtype=np.int32),
              "swap_class.npy": images(80, 8, 16), "swap_residual.npy": images(80, 8, 16)}
    yield "default", metrics, arrays, ["swap.png", "style.png"]


def invariances():
    metrics = {"image_height": 8, "image_width": 8, "pixel_max": 16, "representations": ["hidden", "logits"],
               "figure_samples": 10, "adversarial_samples_shown": 6, "data_pixel_variance_within_class": 9.1,
               "attack_epsilon": 2.0, "attack_success_rate": 0.62}
    arrays = {"invariance_images.npy": digit_images(10), "invariance_labels.npy": np.arange(10, dtype=np.int32),
              "invariance_reconstructions.npy": images(10, 8, 16)}
    for r in metrics["representations"]:
        metrics.update({f"{r}_sample_class_agreement": 0.9, f"{r}_pixel_variance": 3.2,
                        f"{r}_adversarial_samples_adversarial_class": 0.7,
                        f"{r}_adversarial_samples_original_class": 0.2})
        arrays[f"invariances_{r}_samples.npy"] = images(100, 8, 16)
        arrays[f"adversarial_{r}_samples.npy"] = images(8 * 6, 8, 16)
    arrays.update({"adversarial_originals.npy": digit_images(8), "adversarial_images.npy": images(8, 8, 16),
                   "adversarial_reconstructions.npy": images(8, 8, 16),
                   "adversarial_labels.npy": np.stack([np.arange(8), (np.arange(8) + 3) % 10], 1).astype(np.int32)})
    pngs = ["invariances_hidden.png", "invariances_logits.png"]
    yield "default", metrics, arrays, pngs + ["adversarial.png"]
    # No test digit flipped: the program writes no adversarial_* files, and the script draws the rest.
    yield "no_attack", metrics, {k: v for k, v in arrays.items() if not k.startswith("adversarial")}, pngs


FIXTURES = {"digits": digits, "digits_cinn": digits_cinn, "disentangle": disentangle,
            "fashion_mnist": fashion_mnist, "invariances": invariances}


def check_contract(program, written, keys, representations):
    """The fixture against the program's source: the .npy files its variants write together are exactly
    those the header comment names (<r> standing for each representation), and every metrics.json key is
    a string literal of the program, or two joined (r.name + "_pixel_variance")."""
    failures = []
    named = set()
    source = program_source(program)
    for name in re.findall(r"[\w<>]+\.npy", header_comment(source)):
        named |= {name.replace("<r>", r) for r in representations} if "<r>" in name else {name}
    if written != named:
        failures.append(f"examples/{program}.cpp's header names {sorted(named)}, the fixtures write {sorted(written)}")
    literals = string_literals(source)
    for key in sorted(keys):
        if not spelled_from(key, literals):
            failures.append(f"the fixture's metrics.json key '{key}' is not in examples/{program}.cpp")
    return failures


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in FIXTURES:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(FIXTURES)}}} WORK_DIR")
    program, work = sys.argv[1], pathlib.Path(sys.argv[2])
    script = ROOT / "scripts" / "figures" / f"{program}.py"
    docstring = script.read_text().split('"""')[1]
    failures, written, keys, representations = [], set(), set(), set()
    for variant, metrics, arrays, pngs in FIXTURES[program]():
        directory = work / program / variant
        shutil.rmtree(directory, ignore_errors=True)
        write(directory, metrics, arrays)
        written |= set(arrays)
        keys |= set(metrics)
        representations |= set(metrics.get("representations", []))
        result = subprocess.run([sys.executable, str(script), str(directory)], capture_output=True, text=True)
        if result.returncode != 0:
            failures.append(f"{script.name} on the {variant} fixture exited with {result.returncode}:\n"
                            f"{result.stdout}{result.stderr}")
            continue
        failures += check_pngs(directory, pngs, f"{program} ({variant})")
    failures += check_contract(program, written, keys, representations)
    failures += [f"scripts/figures/{program}.py's docstring does not name {name}, which it reads"
                 for name in sorted(written) if name not in docstring and
                 not any(name.replace(r, "<r>") in docstring for r in representations)]
    for failure in failures:
        print(f"FAILED: {failure}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
