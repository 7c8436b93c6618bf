"""Measure the no-op paths of the toolcache on this repository's own pins.

    python3 bench/toolcache_noop.py [--runs N]

Restores the sample pins first if needed (into $ENLIST_CACHE or the default cache), then reports medians of:
- `check`: the in-process cost of `enlist.toolcache.check.require_restored` (what `enlist build` pays per run),
  imports included, over a baseline process that imports the CLI, workspace and models;
- `restore`: the wall time of `enlist restore` with everything cached (a whole process).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "import enlist.cli, enlist.workspace, enlist.model.project, enlist.model.action, tomllib"
CHECK = BASE + "\nfrom pathlib import Path\nfrom enlist.toolcache import check\ncheck.require_restored(Path('.'))"


def median_ms(argv: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    env = {**os.environ, "ENLIST_ROOT": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users run: with cached bytecode
    subprocess.run([sys.executable, "-m", "enlist", "restore"], cwd=ROOT, env=env, check=True)
    base = median_ms([sys.executable, "-c", BASE], runs, env)
    check = median_ms([sys.executable, "-c", CHECK], runs, env)
    restore = median_ms([sys.executable, "-m", "enlist", "restore"], runs, env)
    print(f"baseline process        {base:7.1f} ms")
    print(f"check (marginal)        {check - base:7.1f} ms")
    print(f"enlist restore (cached) {restore:7.1f} ms")


if __name__ == "__main__":
    main()
