#!/usr/bin/env python3
"""What each hostile descriptor of the test suite costs `enlist graph`: CPU time, wall time and peak RSS of
the real process (interpreter start and imports included), next to a healthy run for scale. CPU time is the
figure to compare on a shared machine; wall time grows with the load of the others.

    .venv/bin/python bench/hostile_descriptors.py [--runs 3] [CASE-SUBSTRING...]

The cases are the table of tests/test_hostile_descriptors.py, and one descriptor that comes close to every
bound at once in all four passes (it loads, with warnings: the most a single descriptor can cost); each runs
on a fresh copy of the trio enlistment, with no cache. Figures are the median of --runs runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_hostile_descriptors as cases

TIME = "/usr/bin/time"  # GNU time


def near_every_bound(e: cases.Enl) -> str:
    """Just under MAX_MACROS, MAX_REFERENCES, MAX_EXPANSION and MAX_ITEMS, evaluated once per pass."""
    lines = ['!IF "$(BUILD_PASS)" != "x"', "!ENDIF"]
    lines += [f"SOURCE{chr(65 + i % 26)}{i} = v" for i in range(9_900)]  # close to SOURCES: near-miss checks
    lines += ["R = " + "$(UNDEFINED)" * 900 for _ in range(98)]  # undefined: the warning path
    lines += ["D = " + "a" * 16, *["D = $(D)$(D)"] * 15, *(f"K{i} = $(D)x" for i in range(27))]
    lines += ["C_DEFINES = " + " ".join(f"-D{i}" for i in range(24_000))]
    lines += ["USER_C_FLAGS = " + " ".join(f'"-f {i}"' for i in range(24_000))]
    e.agent("\n".join(lines) + "\n")
    return ""


def run_once(setup: cases.Setup | None) -> tuple[float, float, int, int]:
    """(CPU seconds, wall seconds, peak RSS in KiB, exit code) of one `enlist graph --no-cache`."""
    with tempfile.TemporaryDirectory(prefix="enlist-hostile-") as tmp:
        root = Path(tmp) / "trio"
        shutil.copytree(cases.TRIO, root)
        outside = Path(tmp) / "outside"
        (outside / "proj").mkdir(parents=True)
        (outside / "secret.inc").write_text("SECRET = 1\n")
        (outside / "proj" / "sources").write_text("TARGETTYPE = NOTARGET\n")
        if setup is not None:
            setup(cases.Enl(root.resolve(), outside.resolve()))
        env = {k: v for k, v in os.environ.items() if k not in ("ENLIST_ROOT", "ENLIST_CONFIG")}
        # Through time(1): Linux carries a parent's peak RSS into a forked child across exec, so the child
        # of this (large) process would report ours; time's own child reports only itself.
        report = Path(tmp) / "rss"
        start = time.perf_counter()
        result = subprocess.run(
            [TIME, "-f", "%U %S %M", "-o", str(report), sys.executable, "-m", "enlist", "graph", "--no-cache"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        user, system, rss = report.read_text().split()[-3:]
        return float(user) + float(system), wall, int(rss), result.returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("only", nargs="*", help="run the cases whose name contains one of these")
    args = parser.parse_args(argv)
    table: dict[str, cases.Setup | None] = {
        "(healthy trio, for scale)": None,
        "(near every bound, four passes: loads)": near_every_bound,
        **cases.CASES,
    }
    chosen = {k: v for k, v in table.items() if not args.only or any(o in k for o in args.only)}
    print(f"{'case':48}{'exit':>5}{'cpu':>9}{'wall':>9}{'peak RSS':>11}   (median of {args.runs})")
    for name, setup in chosen.items():
        runs = [run_once(setup) for _ in range(args.runs)]
        cpu, wall, rss = (statistics.median(r[i] for r in runs) for i in range(3))
        print(f"{name:48}{runs[0][3]:>5}{cpu * 1000:7.0f}ms{wall * 1000:7.0f}ms{rss / 1024:8.1f}MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
