#!/usr/bin/env python3
"""How long loading the project graph takes on a large synthetic enlistment (cold parse vs. warm cache).

    .venv/bin/python bench/graph_load.py [--projects 1000] [--files 10] [--runs 7] [--keep DIR]

Each figure is the median wall time of a fresh process (interpreter start and imports included, as a user
pays them), and, separately, of the load alone measured inside the process:

    cold            no cache: walk, evaluate every descriptor, link the graph, write the cache
    warm            cache hit: read the cache header, stat every recorded file (what a no-op build needs)
    warm + decode   cache hit, then decode every project and the graph (what planning needs)
    enlist graph    `enlist graph --format json`, warm, end to end
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import synth

PROBE = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from enlist import workspace
from enlist.loader import load
t1 = time.perf_counter()
loaded = load(workspace.load(Path(sys.argv[1])), "chk-amd64")
t2 = time.perf_counter()
if sys.argv[2] != "warm":
    counts = (len(loaded.projects), len(loaded.graph.edges))
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "load": t2 - t1, "decode": t3 - t2, "hit": loaded.from_cache}))
"""


def measure(root: Path, mode: str, runs: int) -> dict[str, float]:
    walls, loads, decodes = [], [], []
    for _ in range(runs):
        if mode == "cold":
            shutil.rmtree(root / "out", ignore_errors=True)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(root), mode], capture_output=True, text=True, check=True
        ).stdout
        walls.append(time.perf_counter() - start)
        data = json.loads(out)
        assert data["hit"] == (mode != "cold"), data
        loads.append(data["load"])
        decodes.append(data["decode"])
    return {
        "wall": statistics.median(walls),
        "load": statistics.median(loads),
        "decode": statistics.median(decodes),
    }


def measure_command(root: Path, runs: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "ENLIST_ROOT"}
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "enlist", "graph", "--format", "json"],
            cwd=root, env=env, check=True, stdout=subprocess.DEVNULL,
        )
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def python_start(runs: int) -> float:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="generate into (or reuse) this directory")
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="enlist-graph-load-")) / "enl"
    if not (root / "dirs").exists():
        synth.generate(root, projects=args.projects, files=args.files, seed=1)
        time.sleep(2.1)  # let the files age past the racy-clean window, as they would in a real checkout
    cache = root / "out" / ".enlist" / "graph-chk-amd64.json"
    print(f"enlistment: {root} ({args.projects} projects x {args.files} C files), median of {args.runs} runs")
    print(f"python start alone: {python_start(args.runs) * 1000:7.1f} ms")
    cold = measure(root, "cold", args.runs)
    warm = measure(root, "warm", args.runs)
    full = measure(root, "full", args.runs)
    command = measure_command(root, args.runs)
    print(f"cache file: {cache.stat().st_size / 1e6:.1f} MB")
    print(f"{'':16}{'process':>10}{'load':>10}{'decode':>10}")
    for name, row in (("cold", cold), ("warm", warm), ("warm + decode", full)):
        print(f"{name:16}{row['wall'] * 1000:8.1f}ms{row['load'] * 1000:8.1f}ms{row['decode'] * 1000:8.1f}ms")
    print(f"{'enlist graph':16}{command * 1000:8.1f}ms   (--format json, warm)")
    if args.keep is None:
        shutil.rmtree(root.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
