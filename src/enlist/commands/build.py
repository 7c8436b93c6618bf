"""`enlist build [DIRS...] [-c] [-j N] [--config C] [--no-cache] [--explain] [--strict] [--fail-fast] [--pass
N] [--check]`

Builds the projects under DIRS (default: everything) and whatever they consume. `--check` then builds the same
again in a copy of the tree with no cache and names every action whose outputs differ (`enlist.app.check`).
A build with nothing to do never gets here: `enlist.cli` hands it to `enlist.store.noop` first. The pipeline
is plan -> run: the planner is found by name (`PLANNER`), imported only when the tree's remembered plan is out
of date.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from enlist import workspace
from enlist.errors import InputError
from enlist.model.plan import Plan, PlanRequest
from enlist.model.project import Pass
from enlist.store import noop

# "module:function" of the planner, (PlanRequest) -> Plan: it loads the descriptors and applies the rules.
PLANNER = "enlist.app.planning:plan"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dirs",
        nargs="*",
        metavar="DIRS",
        help="build these directories and what they consume (default: the current directory, as build.exe)",
    )
    parser.add_argument(
        "-c",
        dest="clean",
        action="store_true",
        help="clean build: ignore existing outputs (the action cache may still serve them)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="run N actions at once (default: the number of cores)",
    )
    parser.add_argument(
        "--config",
        default=None,
        help="flavor-arch, e.g. chk-amd64 (default: ENLIST_CONFIG, "
        "else buildconf/enlist.toml default_config)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="execute every action: neither existing outputs nor the action cache count",
    )
    parser.add_argument("--explain", action="store_true", help="say why each action ran or was skipped")
    parser.add_argument("--strict", action="store_true", help="treat descriptor warnings as errors")
    parser.add_argument(
        "--fail-fast",
        action="store_true",
        help="stop starting actions after the first failure (default: keep going)",
    )
    parser.add_argument(
        "--pass",
        dest="max_pass",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="stop after this pass (0 generate, 1 compile, 2 link)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="then build again with no cache in a copy of the tree and report every action whose outputs "
        "differ (exit 1 if any does)",
    )


def run(args: argparse.Namespace) -> int:
    from enlist.app.build import BuildRequest, run_build
    from enlist.engine.builder import Options

    settings = workspace.load()
    root = settings.root
    config = workspace.current_config(settings, args.config)
    if not args.config and not os.environ.get("ENLIST_CONFIG"):
        _remember_default(root, config)
    jobs = args.jobs if args.jobs is not None else _cores()
    if jobs < 1:
        raise InputError(f"-j {jobs}: the number of jobs must be at least 1")
    dirs = noop.normalise_dirs(str(root), os.getcwd(), list(args.dirs))
    if dirs is None:
        raise InputError(f"DIRS must be inside the enlistment {root}: {' '.join(args.dirs)}")
    env = tuple((name, os.environ[name]) for name in settings.env_allow if name in os.environ)
    request = BuildRequest(
        root=root,
        plan_request=PlanRequest(
            root=str(root), config=config, strict=args.strict, env=env, cache=str(workspace.cache_root())
        ),
        options=Options(
            jobs=jobs,
            fail_fast=args.fail_fast,
            clean=args.clean,
            projects=dirs,
            max_pass=None if args.max_pass is None else Pass(args.max_pass),
        ),
        read_cache=not args.no_cache,
        explain=args.explain,
        dirs=dirs,
        env_names=settings.env_allow,
    )
    from enlist.app.planning import after_build

    console = _console(args.explain)
    if args.check:
        from enlist.app.check import check_build

        return check_build(request, load_planner, console, sys.stdout, after=after_build)
    return run_build(request, load_planner, console, after=after_build)


def load_planner(request: PlanRequest) -> Plan:
    module_name, _, function = PLANNER.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
        raise InputError(
            "this installation of enlist has no planner to turn descriptors into actions",
            hint=f"{module_name} is missing; install a complete enlist",
        ) from e
    plan: Plan = getattr(module, function)(request)
    return plan


def _console(explain: bool):  # type: ignore[no-untyped-def]
    if sys.stdout.isatty() and os.environ.get("TERM", "dumb") != "dumb":
        from enlist.console.live import LiveConsole

        return LiveConsole(sys.stdout, explain=explain)
    from enlist.console.plain import PlainConsole

    return PlainConsole(sys.stdout, explain=explain)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _remember_default(root: Path, config: str) -> None:
    """Let the no-op path know the default config without parsing TOML (see `enlist.store.noop`)."""
    import marshal

    from enlist.store.state import write_atomic

    sig = noop.signature(str(root / noop.ENLIST_TOML))
    if sig is not None:
        write_atomic(root / "out" / ".enlist" / "default-config", marshal.dumps((sig, config)))
