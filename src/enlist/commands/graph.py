"""`enlist graph`: show the project graph: nodes (project, pass) and the descriptor lines behind every edge.

    enlist graph                          text, one section per pass (the default)
    enlist graph --format dot | dot -Tsvg > graph.svg
    enlist graph --format json            for scripts (see enlist.graph.render)
    enlist graph projects/agent           only those projects and what they depend on
    enlist graph --why projects/agent projects/replica
                                          the chain of edges that makes the first depend on the second

Warnings (undefined macros, ...) go to stderr; bad descriptors exit 2 with `file:line:` errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from enlist import workspace
from enlist.errors import InputError
from enlist.loader import LoadedEnlistment, load


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dirs", nargs="*", metavar="DIRS", help="show only these projects and what they depend on"
    )
    parser.add_argument(
        "--config", help="FLAVOR-ARCH, e.g. chk-amd64 (default: ENLIST_CONFIG or enlist.toml)"
    )
    parser.add_argument("--format", choices=("text", "dot", "json"), default="text")
    parser.add_argument("--why", nargs=2, metavar=("A", "B"), help="why does A depend on B?")
    parser.add_argument("--strict", action="store_true", help="warnings (undefined macros, ...) are errors")
    parser.add_argument("--no-cache", action="store_true", help="parse every descriptor again")


def run(args: argparse.Namespace) -> int:
    settings = workspace.load()
    config = workspace.current_config(settings, args.config)
    named = [relative_to_root(d, settings.root) for d in (*args.dirs, *(args.why or ()))]
    packages = package_inputs(settings, config)
    loaded = load(settings, config, strict=args.strict, dirs=named, use_cache=not args.no_cache, **packages)
    for diagnostic in loaded.diagnostics:
        print(diagnostic.render(), file=sys.stderr)
    if args.why:
        return _why(loaded, named[-2], named[-1])
    from enlist.graph import render

    graph = loaded.graph
    if args.dirs:
        from enlist.graph.query import closure

        graph = closure(graph, loaded.select(named[: len(args.dirs)]))
    if args.format == "json":
        sys.stdout.write(render.json_text(graph, loaded.projects, config))
    elif args.format == "dot":
        sys.stdout.write(render.dot(graph))
    else:
        sys.stdout.write(render.text(graph, loaded.projects))
    return 0


def package_inputs(settings: workspace.Settings, config: str) -> dict[str, Any]:
    """What the restored packages give the descriptors: `predefined` macros ($(PkgX...)), `package_roots`
    (absolute trees descriptors may name) and `public_provided` (public paths that packages with
    `provides = "public"` overlay). Packages not restored yet are restored first."""
    from enlist.app import Session, tools
    from enlist.toolcache.provided import provided_paths, provided_trees

    packages = tools.ensure_tools(Session(settings=settings, config=config))
    provided, _ = provided_trees(packages, config)
    return {
        "predefined": dict(packages.macros),
        "package_roots": tuple(p.tree for p in packages.packages),
        "public_provided": tuple(provided_paths(provided)),
    }


def _why(loaded: LoadedEnlistment, a: str, b: str) -> int:
    from enlist.graph import render
    from enlist.graph.query import why

    chain = why(loaded.graph, loaded.select([a]), loaded.select([b]))
    sys.stdout.write(render.why_text(a or ".", b or ".", chain))
    return 0


def relative_to_root(argument: str, root: Path) -> str:
    """A directory named on the command line, relative to the working directory when it lies inside the
    enlistment, else relative to the enlistment root -> enlistment-relative POSIX."""
    candidate = (Path.cwd() / argument).resolve()
    for base in (candidate, (root / argument).resolve()):
        if base == root or root in base.parents:
            return base.relative_to(root).as_posix().removeprefix(".")
    raise InputError(
        f"'{argument}' is outside the enlistment at {root}", hint="name directories of this enlistment"
    )
