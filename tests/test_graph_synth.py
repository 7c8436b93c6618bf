"""bench/synth.py writes enlistments that really compile, and the graph's edges are enough to build them: a
small builder that knows only the model (sources, includes, publish pairs, TARGETLIBS) compiles one with the
host C compiler, visiting nodes in the most eager order the edges allow, so a missing edge fails the build."""

from __future__ import annotations

import heapq
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from enlist import workspace
from enlist.graph.model import Node, ProjectGraph, target_path
from enlist.loader import LoadedEnlistment, load
from enlist.model.project import Pass, Project, TargetType

CC = shutil.which("cc") or shutil.which("gcc")


def synth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("synth", Path(__file__).parents[1] / "bench" / "synth.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["synth"] = module
    spec.loader.exec_module(module)
    return module


def eager_order(graph: ProjectGraph) -> list[Node]:
    """A topological order that runs later passes and later projects as early as the edges permit."""
    rank = {p: i for i, p in enumerate(graph.order)}
    indegree = {n: 0 for n in graph.nodes}
    for edge in graph.edges:
        indegree[edge.after] += 1
    successors = graph.successors()
    ready = [(-int(n.pass_), -rank.get(n.project, 0), n) for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        node = heapq.heappop(ready)[2]
        order.append(node)
        for after in successors[node]:
            indegree[after] -= 1
            if indegree[after] == 0:
                heapq.heappush(ready, (-int(after.pass_), -rank.get(after.project, 0), after))
    assert len(order) == len(graph.nodes)
    return order


def build(root: Path, loaded: LoadedEnlistment) -> None:
    projects = {p.dir: p for p in loaded.projects}
    for node in eager_order(loaded.graph):
        if node.phony:
            continue
        project = projects[node.project]
        if node.pass_ is Pass.PASS1:
            compile_project(root, project)
        elif node.pass_ is Pass.PASS2:
            link(root, project)
        publish(root, project, node.pass_)


def run(argv: list[str], cwd: Path) -> None:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(argv)}\n{result.stderr}"


def compile_project(root: Path, project: Project) -> None:
    obj = root / project.obj_dir
    obj.mkdir(parents=True, exist_ok=True)
    includes = [f"-I{root / i.value}" for i in project.includes]
    for source in project.sources:
        output = obj / (Path(source.path).stem + ".o")
        run(
            [str(CC), "-c", "-O0", "-Wall", "-Werror", *includes, str(root / source.path), "-o", str(output)],
            root,
        )
    if project.target_type is TargetType.LIBRARY:
        run(
            ["ar", "rcs", str(root / str(target_path(project))), *sorted(str(o) for o in obj.glob("*.o"))],
            root,
        )


def link(root: Path, project: Project) -> None:
    objects = sorted(str(o) for o in (root / project.obj_dir).glob("*.o"))
    libs = [str(root / lib.value) for lib in project.target_libs]
    run([str(CC), *objects, *libs, "-o", str(root / str(target_path(project)))], root)


def publish(root: Path, project: Project, pass_: Pass) -> None:
    for pair in project.publish:
        if pair.pass_ is pass_:
            dest = root / pair.dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / pair.src, dest)


def test_a_synthetic_enlistment_builds_in_the_order_the_graph_allows(tmp_path: Path) -> None:
    assert CC is not None, "this test compiles C with the host compiler (cc or gcc on PATH)"
    specs = synth().generate(tmp_path / "s", projects=24, files=3, seed=7)
    loaded = load(workspace.load(tmp_path / "s"), "chk-amd64")
    assert len(loaded.projects) == 24 and loaded.diagnostics == ()
    build(tmp_path / "s", loaded)
    programs = [s for s in specs if s.program]
    assert len(programs) == 2
    for spec in programs:
        binary = tmp_path / "s" / spec.dir / "obj" / "chk-amd64" / spec.name
        output = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
        assert output.startswith(f"{spec.name} ")


def test_synthetic_enlistments_are_reproducible(tmp_path: Path) -> None:
    module = synth()
    module.generate(tmp_path / "a", projects=30, files=2, seed=3)
    module.generate(tmp_path / "b", projects=30, files=2, seed=3)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)
