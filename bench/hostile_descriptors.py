#!/usr/bin/env python3
"""What each hostile descriptor of the test suite costs `enlist graph`: wall time and peak RSS of the real
process (interpreter start and imports included), next to a healthy run for scale.

    .venv/bin/python bench/hostile_descriptors.py [--runs 3] [CASE-SUBSTRING...]

The cases are the table of tests/test_hostile_descriptors.py; each runs on a fresh copy of the trio
enlistment, with no cache. Figures are the median of --runs runs.
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


def run_once(setup: cases.Setup | None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, exit code) of one `enlist graph --no-cache`."""
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
            [TIME, "-f", "%M", "-o", str(report), sys.executable, "-m", "enlist", "graph", "--no-cache"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        return wall, int(report.read_text().split()[-1]), result.returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("only", nargs="*", help="run the cases whose name contains one of these")
    args = parser.parse_args(argv)
    table: dict[str, cases.Setup | None] = {"(healthy trio, for scale)": None, **cases.CASES}
    chosen = {k: v for k, v in table.items() if not args.only or any(o in k for o in args.only)}
    print(f"{'case':48}{'exit':>5}{'wall':>10}{'peak RSS':>11}   (median of {args.runs})")
    for name, setup in chosen.items():
        runs = [run_once(setup) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        print(f"{name:48}{runs[0][2]:>5}{wall * 1000:8.0f}ms{rss / 1024:8.1f}MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
