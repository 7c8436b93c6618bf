"""From an enlistment on disk to the plan the engine runs (L3): the planner `enlist build` calls when the tree's
remembered plan is out of date (`enlist.app.manifests` writes the manifest after each build).

    plan(request)                 restored packages -> descriptors (loader) -> graph -> toolchain rules -> Plan

Planning also writes what the plan needs on disk before anything runs (the version stamp's source), what an
official build packages by (`package-names.json`), and refreshes `compile_commands.json`. Packages with
`provides = "public"` are overlaid on $(PUBLIC_ROOT) (`enlist.toolcache.provided`). The plan depends on the
descriptors and includes read, on `buildconf/`, and on the commit (the stamp names it), so all of those are the
plan's `sources`: the engine re-plans when one changes.

Dev builds stamp the commit alone; the manifest, written after the build, records whether the tree was dirty.
Official builds refuse a dirty tree, so their stamp and their manifest always agree.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from enlist import canonical, digest, manifest, vcs, workspace
from enlist.app import Session
from enlist.compdb import write_compile_commands
from enlist.descriptors.paths import platform_name
from enlist.errors import ConfigError, InputError, InputErrors
from enlist.fsio import write_atomic, write_if_changed
from enlist.graph.model import Node, ProjectGraph
from enlist.model.action import Action, ActionKind
from enlist.model.plan import Plan, PlanRequest
from enlist.release.package import package_names
from enlist.rules.spec import Consumption, ToolTree
from enlist.store.state import MANIFEST_BASE, state_dir
from enlist.toolcache.provided import provided_paths, provided_trees

if TYPE_CHECKING:
    pass

BUILDCONF = ("buildconf/enlist.toml", "buildconf/packages.toml", "buildconf/packages.lock")
PACKAGE_NAMES = "package-names.json"  # under out/<config>/.enlist/: {project dir: package name} (official builds)


def plan(request: PlanRequest) -> Plan:
    from enlist import loader, toolchain
    from enlist.app import tools
    from enlist.rules import planner

    settings = workspace.load(Path(request.root))
    packages = tools.ensure_tools(Session(settings=settings, config=request.config))
    provided, provided_warnings = provided_trees(packages, request.config)
    try:
        loaded = loader.load(
            settings,
            request.config,
            predefined=dict(packages.macros),
            package_roots=tuple(p.tree for p in packages.packages),
            public_provided=provided_paths(provided),
            strict=request.strict,
        )
    except InputError as e:  # a consumed path may be missing because a provided package lacks this config
        notes = [ConfigError(w.message, location=w.location) for w in provided_warnings]
        if not notes:
            raise
        raise InputErrors([*(e.errors if isinstance(e, InputErrors) else [e]), *notes]) from e
    rules = toolchain.load_rules(settings)
    trees = [ToolTree(name=p.name, sha256=p.sha256, path=p.tree) for p in packages.packages]
    official = request.build_number is not None
    spec = toolchain.build_spec(
        settings, rules, config=request.config, packages=trees, official=official, build_number=request.build_number
    )
    if not official:
        spec = replace(spec, revision=replace(spec.revision, dirty=False))
    planned = planner.plan(
        loaded.projects, consumptions(loaded.graph), settings=rules, spec=spec, provided=provided
    )
    planned = replace(planned, actions=with_test_data(planned.actions, settings.root))
    for generated in planned.files:
        write_if_changed(settings.root / generated.path, generated.content.encode("utf-8"))
    write_compile_commands(planned)
    lock = settings.root / manifest.LOCK_FILE  # a plan source: a new lock makes a new plan, and a new base
    base = manifest.document(planned, spec, rules, published={}, lock=digest.of_file(lock) if lock.is_file() else None)
    tree_state = state_dir(settings.root, request.config)
    write_atomic(tree_state / MANIFEST_BASE, canonical.pretty(base).encode())
    write_if_changed(tree_state / PACKAGE_NAMES, canonical.pretty(package_names(loaded.projects)).encode())
    sources = sorted(
        {r.path for r in loaded.records if r.kind.name == "FILE"}
        | {p for p in BUILDCONF if (settings.root / p).is_file()}
        | set(vcs.revision_files(settings.root))
    )
    return Plan(
        config=request.config,
        actions=planned.actions,
        roots=planned.roots,
        sources=tuple(sources),
        warnings=tuple(d.render() for d in sorted([*loaded.warnings, *provided_warnings], key=lambda d: d.sort_key)),
    )


def consumptions(graph: ProjectGraph) -> list[Consumption]:
    """The graph's edges between real (project, pass) nodes; a phony node (a crowded public directory) stands
    for all of its producers, so an edge through one becomes an edge from each of them."""
    before: dict[Node, list[Node]] = {}
    for edge in graph.edges:
        before.setdefault(edge.after, []).append(edge.before)

    def producers(node: Node, seen: set[Node]) -> list[Node]:
        if not node.phony:
            return [node]
        found: list[Node] = []
        for prior in before.get(node, []):
            if prior not in seen:
                seen.add(prior)
                found += producers(prior, seen)
        return found

    result = {
        Consumption(consumer=n.project, consumer_pass=n.pass_, producer=p.project, producer_pass=p.pass_)
        for n in graph.nodes
        if not n.phony
        for prior in before.get(n, [])
        for p in producers(prior, set())
        if p.project != n.project
    }
    return sorted(result, key=lambda c: (c.consumer, c.consumer_pass, c.producer, c.producer_pass))


def with_test_data(actions: Sequence[Action], root: Path) -> tuple[Action, ...]:
    """A test's result depends on the files its arguments name, not only on its program: an argument that is
    another action's output, or a file or directory in the enlistment (relative to the test's directory), becomes
    an input of the test (a directory: every file below it), so editing a golden file re-runs the test."""
    produced = {out for action in actions for out in action.outputs}
    result = []
    for action in actions:
        if action.kind is not ActionKind.TEST:
            result.append(action)
            continue
        found: set[str] = set()
        for token in action.argv[1:]:
            found.update(_named_files(token, action.cwd, root, produced))
        result.append(action._replace(inputs=tuple(sorted(found.union(action.inputs)))))
    return tuple(result)


def _named_files(token: str, cwd: str, root: Path, produced: set[str]) -> list[str]:
    if token.startswith("-") or not token.strip():
        return []
    path = Path(token.replace("\\", "/"))
    full = path if path.is_absolute() else root / cwd / path
    try:
        relative = Path(os.path.normpath(full)).relative_to(root).as_posix()
    except ValueError:
        return []  # outside the enlistment: a package tree or the system, not the test's data
    for candidate in (relative, platform_name(relative)):
        if candidate in produced:
            return [candidate]
    if (root / relative).is_file():
        return [relative]
    if (root / relative).is_dir() and relative not in (".", ""):
        files = (p for p in sorted((root / relative).rglob("*")) if p.is_file())
        return [p.relative_to(root).as_posix() for p in files]
    return []

