#!/usr/bin/env python3
"""enlist's engine against ninja on the same synthetic C enlistment, with the same compiler commands.

    .venv/bin/python bench/engine_vs_ninja.py --sources 2000 --runs 9
    .venv/bin/python bench/engine_vs_ninja.py --sources 10000 --runs 5 --skip-full

The enlistment is generated from a seed: P projects of M C files each, a header per project, each file
including its own header and the previous project's; a static library per project, a program per ten projects
linking them. The engine is driven from the generated action list (no descriptors needed), ninja from an
equivalent build.ninja (`deps = gcc`); each tool builds its own copy of the tree. Scenarios, interleaved
run by run so that machine noise hits both alike, medians reported:

    full     -c --no-cache (enlist)  vs  ninja -t clean; ninja        (once each unless --full-runs)
    noop     enlist build            vs  ninja
    edit     one .c changed          (the same file, alternately two contents)
    header   a widely included header changed
    clean    enlist build -c from a warm action cache  vs  ninja's full build

Peak memory (max RSS) of each enlist run is reported too. Nothing here is a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from enlist.app.build import BuildRequest, run_build  # noqa: E402
from enlist.console.plain import PlainConsole  # noqa: E402
from enlist.engine.builder import Options  # noqa: E402
from enlist.model.action import Action, ActionKind, PathRoots  # noqa: E402
from enlist.model.plan import Plan, PlanRequest  # noqa: E402
from enlist.model.project import Pass  # noqa: E402

CONFIG = "chk-amd64"
CC = shutil.which("cc") or "/usr/bin/cc"
AR = shutil.which("ar") or "/usr/bin/ar"
ENV = (("PATH", "/usr/bin:/bin"),)


def generate(tree: Path, projects: int, per: int, seed: int) -> None:
    rng = random.Random(seed)
    (tree / "buildconf").mkdir(parents=True, exist_ok=True)
    (tree / "buildconf" / "enlist.toml").write_text(
        f'[enlistment]\nname = "bench"\ndefault_config = "{CONFIG}"\n'
    )
    for p in range(projects):
        d = tree / f"p{p:04d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"p{p:04d}.h").write_text(f"#pragma once\nint p{p:04d}_sum(int x);\n")
        for f in range(per):
            dep = f'#include "../p{p - 1:04d}/p{p - 1:04d}.h"\n' if p else ""
            body = " + ".join(str(rng.randrange(100)) for _ in range(4))
            (d / f"f{f:03d}.c").write_text(
                f'#include "p{p:04d}.h"\n{dep}int p{p:04d}_f{f:03d}(int x) {{ return x * ({body}); }}\n'
                + (f"int p{p:04d}_sum(int x) {{ return x; }}\n" if f == 0 else "")
            )
        if p % 10 == 9:
            (d / "main.c").write_text(
                f'#include "p{p:04d}.h"\nint main(void) {{ return p{p:04d}_sum(0); }}\n'
            )


def compile_action(project: str, file: str, src: str, obj: str) -> Action:
    return Action(
        id=f"{project}:compile:{file}",
        kind=ActionKind.COMPILE,
        project=project,
        pass_=Pass.PASS1,
        argv=(CC, "-c", "-O1", "-MD", "-MF", f"{obj}.d", src, "-o", obj),
        inputs=(src,),
        outputs=(obj,),
        env=ENV,
        depfile=f"{obj}.d",
        description=f"CC {src}",
    )


def actions(projects: int, per: int) -> list[Action]:
    out: list[Action] = []
    for p in range(projects):
        name = f"p{p:04d}"
        objs = []
        for f in range(per):
            src, o = f"{name}/f{f:03d}.c", f"{name}/obj/{CONFIG}/f{f:03d}.o"
            objs.append(o)
            out.append(compile_action(name, f"f{f:03d}.c", src, o))
        lib = f"{name}/obj/{CONFIG}/lib{name}.a"
        out.append(
            Action(
                id=f"{name}:archive",
                kind=ActionKind.ARCHIVE,
                project=name,
                pass_=Pass.PASS1,
                argv=(AR, "rcsD", lib, *objs),
                inputs=tuple(objs),
                outputs=(lib,),
                env=ENV,
                description=f"AR {lib}",
            )
        )
        if p % 10 == 9:
            src, o, exe = f"{name}/main.c", f"{name}/obj/{CONFIG}/main.o", f"{name}/obj/{CONFIG}/{name}"
            out.append(compile_action(name, "main.c", src, o))
            libs = tuple(f"p{q:04d}/obj/{CONFIG}/libp{q:04d}.a" for q in range(p, p - 10, -1))
            out.append(
                Action(
                    id=f"{name}:link",
                    kind=ActionKind.LINK,
                    project=name,
                    pass_=Pass.PASS2,
                    argv=(CC, o, *libs, "-o", exe),
                    inputs=(o, *libs),
                    outputs=(exe,),
                    env=ENV,
                    description=f"LINK {exe}",
                )
            )
    return out


def write_ninja(tree: Path, acts: list[Action]) -> None:
    lines = [
        "rule cc\n  command = $cmd\n  depfile = $dep\n  deps = gcc\n  description = $desc\n",
        "rule run\n  command = $cmd\n  description = $desc\n",
    ]
    for a in acts:
        cmd = " ".join(a.argv).replace("$", "$$")
        outs = " ".join(a.outputs)
        ins = " ".join(a.inputs)
        if a.depfile:
            lines.append(
                f"build {outs}: cc {ins}\n  cmd = {cmd}\n  dep = {a.depfile}\n  desc = {a.description}\n"
            )
        else:
            lines.append(f"build {outs}: run {ins}\n  cmd = {cmd}\n  desc = {a.description}\n")
    (tree / "build.ninja").write_text("".join(lines))


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, float]:
    """(wall seconds, exit code, CPU seconds of the process and its children) of one run. CPU time is the
    steadier figure on a shared machine: other load stretches wall time, not the work done."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(err.decode(errors="replace"))
    return seconds, code, usage.ru_utime + usage.ru_stime


def peak_rss(argv: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Max RSS (KiB) of one run, measured by a small `time` process in between: a child forked from this
    (large) process would report this process's size as its own."""
    out = cwd.parent / ".rss"
    subprocess.run(
        ["/usr/bin/time", "-q", "-o", str(out), "-f", "%M", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return int(out.read_text().split()[-1])


class Bench:
    def __init__(self, work: Path, jobs: int, env: dict[str, str]) -> None:
        self.e_tree, self.n_tree = work / "enlist", work / "ninja"
        self.jobs = jobs
        self.env = env
        self.enlist = [str(ROOT / ".venv" / "bin" / "enlist"), "build", "--config", CONFIG, "-j", str(jobs)]
        self.ninja = ["ninja", "-j", str(jobs)]
        self.results: dict[str, tuple[list[float], list[float], list[float], list[float]]] = {}
        self.rss: dict[str, int] = {}

    def pair(
        self,
        name: str,
        prepare: object = None,
        enlist_args: tuple[str, ...] = (),
        ninja_pre: list[str] | None = None,
    ) -> None:
        e_sec, e_code, e_cpu = timed([*self.enlist, *enlist_args], self.e_tree, self.env)
        if ninja_pre:
            subprocess.run(ninja_pre, cwd=self.n_tree, check=True, stdout=subprocess.DEVNULL)
        n_sec, n_code, n_cpu = timed(self.ninja, self.n_tree, self.env)
        if e_code or n_code:
            raise SystemExit(f"{name}: enlist exited {e_code}, ninja {n_code}")
        got = self.results.setdefault(name, ([], [], [], []))
        got[0].append(e_sec)
        got[1].append(n_sec)
        got[2].append(e_cpu)
        got[3].append(n_cpu)

    def measure_rss(self, name: str, *enlist_args: str) -> None:
        self.rss[name] = peak_rss([*self.enlist, *enlist_args], self.e_tree, self.env)

    def edit(self, rel: str, k: int) -> None:
        """Change `rel` in both trees to a content never built before (no action-cache hit helps enlist)."""
        k = time.time_ns() + k
        for tree in (self.e_tree, self.n_tree):
            path = tree / rel
            text = [
                line
                for line in path.read_text().rstrip("\n").split("\n")
                if not line.startswith("int bench_edit_")
            ]
            if rel.endswith(".h"):
                text.append(f"int bench_edit_{k}(void);")
            else:
                text.append(f"int bench_edit_{k}(void) {{ return {k % 1000}; }}")
            path.write_text("\n".join(text) + "\n")

    def report(self, sources: int) -> None:
        print(
            f"\n{sources} sources, -j {self.jobs}: median wall seconds, ratio enlist/ninja, delta; then the"
            " same for CPU seconds (process and children)"
        )
        for name, (e, n, ec, nc) in self.results.items():
            me, mn = statistics.median(e), statistics.median(n)
            ce, cn = statistics.median(ec), statistics.median(nc)
            print(
                f"  {name:<7} wall {me:7.3f} vs {mn:7.3f} {me / mn:5.2f}x {1000 * (me - mn):+7.1f} ms | "
                f"cpu {ce:7.3f} vs {cn:7.3f} {ce / cn:5.2f}x {1000 * (ce - cn):+7.1f} ms  (n={len(e)})"
            )
        for name, kib in self.rss.items():
            print(f"  peak RSS of enlist, {name}: {kib / 1024:.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--per-project", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/enlist-bench"))
    parser.add_argument(
        "--skip-full", action="store_true", help="do not time full builds (they take minutes)"
    )
    parser.add_argument("--full-runs", type=int, default=1, help="how many times to time full builds")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the trees and caches of an earlier run with the same --sources (quick)",
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE (by default it is unset, as on most machines)",
    )
    args = parser.parse_args()
    projects = max(1, args.sources // args.per_project)
    work = args.work / f"s{args.sources}"
    reuse = args.reuse and (work / "ninja" / "build.ninja").is_file()
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
    env = dict(os.environ, ENLIST_CACHE=str(work / "cache"))
    env.pop("ENLIST_ROOT", None)
    if not args.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    acts = actions(projects, args.per_project)
    bench = Bench(work, args.jobs, env)
    if not reuse:
        for tree in (bench.e_tree, bench.n_tree):
            generate(tree, projects, args.per_project, args.seed)
        write_ninja(bench.n_tree, acts)
    print(f"{len(acts)} actions over {projects} projects in {work}", flush=True)

    plan = Plan(CONFIG, tuple(acts), PathRoots(str(bench.e_tree.resolve())), ("buildconf/enlist.toml",))
    request = BuildRequest(
        root=bench.e_tree.resolve(),
        plan_request=PlanRequest(
            root=str(bench.e_tree.resolve()), config=CONFIG, cache=str((work / "cache").resolve())
        ),
        options=Options(jobs=args.jobs),
        cache=work / "cache",
    )
    start = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        code = run_build(request, lambda _: plan, PlainConsole(quiet))
    first = time.perf_counter() - start
    n_first, _, _ = timed(bench.ninja, bench.n_tree, env)  # with --reuse: a no-op
    print(
        f"first full build: enlist {first:.1f} s (in-process, cold cache), ninja {n_first:.1f} s", flush=True
    )
    if code:
        raise SystemExit("the first enlist build failed")
    bench.pair("settle")  # sources written just before the first build are hashed again once (racy files)
    bench.results.clear()
    edited = f"p{min(3, projects - 1):04d}/f{min(5, args.per_project - 1):03d}.c"  # one source, in any tree size
    for k in range(args.runs):
        bench.pair("noop")
        bench.edit(edited, k)
        bench.pair("edit")
        bench.edit(f"p{min(10, projects - 1):04d}/p{min(10, projects - 1):04d}.h", k)
        bench.pair("header")
        bench.pair("noop2")
    bench.measure_rss("noop")
    bench.edit(edited, args.runs)
    bench.measure_rss("edit")
    if not args.skip_full:
        for _ in range(args.full_runs):
            bench.pair("full", enlist_args=("-c", "--no-cache"), ninja_pre=["ninja", "-t", "clean"])
            bench.pair("clean", enlist_args=("-c",), ninja_pre=["ninja", "-t", "clean"])
        bench.measure_rss("clean", "-c")
    bench.report(args.sources)


if __name__ == "__main__":
    main()
