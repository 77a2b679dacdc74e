"""What both fixture tests (plane_fixtures.py, image_fixtures.py) check against the programs and the
plotting scripts: the program's header comment and string literals, and the PNGs a script drew."""
import pathlib
import re
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]


def program_source(program):
    return (ROOT / "examples" / f"{program}.cpp").read_text()


def header_comment(source):
    """The // lines that open a program's source: where it lists the files it writes."""
    lines = []
    for line in source.splitlines():
        if not line.startswith("//"):
            break
        lines.append(line)
    return "\n".join(lines)


def string_literals(source):
    return set(re.findall(r'"((?:[^"\\]|\\.)*)"', source)) - {""}


def spelled_from(key, literals):
    """Whether the key is a concatenation of the source's string literals and numbers, as the program
    builds it: "inn.label_" + l + ".mmd", n + ".y_star.err_post" with n = "inn", or "test_nll_nats"."""
    reachable = {0}  # prefixes of the key spelled so far
    for start in range(len(key)):
        if start not in reachable:
            continue
        for literal in literals:
            if key.startswith(literal, start):
                reachable.add(start + len(literal))
        digits = re.match(r"\d+", key[start:])
        if digits and start > 0:
            reachable.add(start + digits.end())
    return len(key) in reachable


def png_size(path):
    data = path.read_bytes()
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", data[16:24])


def check_pngs(directory, pngs, label):
    """Failures for the PNGs a script should have drawn in `directory`: missing, not PNG, or smaller than
    300 x 150 pixels; prints the size of each good one."""
    failures = []
    for name in pngs:
        path = directory / name
        size = png_size(path) if path.exists() else None
        if size is None:
            failures.append(f"{label}: {name} is missing or not a PNG ({path})")
        elif size[0] < 300 or size[1] < 150:
            failures.append(f"{label}: {name} is only {size[0]} x {size[1]} pixels")
        else:
            print(f"{label}: {name} {size[0]} x {size[1]} pixels")
    return failures
