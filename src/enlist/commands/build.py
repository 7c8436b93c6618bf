"""`enlist build [DIRS...] [-c] [-j N] [--config C] [--no-cache] [--explain] [--strict] [--fail-fast] [--pass
N] [--check] [--official --build-number N [--publish FEED]]`

Builds the projects under DIRS (default: everything) and whatever they consume. `--check` then builds the same
again in a copy of the tree with no cache and names every action whose outputs differ (`enlist.app.check`).
`--official` is the lab build of a clean commit: every action runs, programs are stamped `<version>.<N>`, and the
published files become versioned packages in `out/<config>/packages/`, published to FEED with `--publish`
(`enlist.app.official`).

A build with nothing to do never gets here: `enlist.cli` hands it to `enlist.store.noop` first. The pipeline
is plan -> run: the planner is found by name (`PLANNER`), imported only when the tree's remembered plan is out
of date.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from enlist.errors import InputError
from enlist.model.passes import Pass
from enlist.model.plan import Plan, PlanRequest
from enlist.store import noop

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing for nothing
if TYPE_CHECKING:
    import argparse

    from enlist.app.build import Console
    from enlist.app.manifests import Seen
    from enlist.engine.builder import BuildResult
    from enlist.model.revision import Revision
    from enlist.store.state import PlanState

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
    official = parser.add_argument_group("official builds (docs/official.md)")
    official.add_argument(
        "--official",
        action="store_true",
        help="the lab build: a clean commit, every action run, stamped <version>.N, packaged",
    )
    official.add_argument(
        "--build-number", type=int, default=None, metavar="N", help="the build number an official build stamps"
    )
    official.add_argument(
        "--publish",
        default=None,
        metavar="FEED",
        help="publish the packages and manifest: a feed of packages.toml, a folder, or an upload URL",
    )


_FLAGS = {
    "-c": "clean",
    "--no-cache": "no_cache",
    "--explain": "explain",
    "--strict": "strict",
    "--fail-fast": "fail_fast",
}
_VALUES = {"-j": "jobs", "--jobs": "jobs", "--config": "config", "--pass": "max_pass"}


def quick_args(argv: list[str]) -> argparse.Namespace | None:
    """`configure`'s options parsed without argparse, for the plain command lines every build uses; None
    for anything else (`--help`, abbreviations, bad values), which argparse then parses and reports."""
    from types import SimpleNamespace

    values: dict[str, object] = {name: False for name in _FLAGS.values()}
    values.update(
        jobs=None, config=None, max_pass=None, dirs=[], official=False, build_number=None, publish=None, check=False
    )
    args = iter(argv)
    for arg in args:
        name, eq, value = arg.partition("=")
        if arg in _FLAGS:
            values[_FLAGS[arg]] = True
        elif name in _VALUES:
            value = value if eq else next(args, "")
            if not value or value.startswith("-"):
                return None
            values[_VALUES[name]] = value
        elif arg.startswith("-j") and arg[2:].isdigit():
            values["jobs"] = arg[2:]
        elif arg.startswith("-") or not arg:
            return None
        else:
            values["dirs"].append(arg)  # type: ignore[attr-defined]
    for key, allowed in (("jobs", None), ("max_pass", ("0", "1", "2"))):
        text = values[key]
        if text is not None:
            if not str(text).isdigit() or (allowed is not None and text not in allowed):
                return None
            values[key] = int(str(text))
    return SimpleNamespace(**values)  # type: ignore[return-value]


def run(args: argparse.Namespace) -> int:
    from enlist.app.build import BuildRequest, run_build
    from enlist.cacheroot import cache_root
    from enlist.engine.builder import Options

    root, default_config, env_allow = _settings()
    config = args.config or os.environ.get("ENLIST_CONFIG") or default_config
    if not noop.plain_config(config):
        from enlist import workspace

        workspace.check_config(config)
    jobs = args.jobs if args.jobs is not None else _cores()
    if jobs < 1:
        raise InputError(f"-j {jobs}: the number of jobs must be at least 1")
    for name in args.dirs:
        if not os.path.isdir(name) and not os.path.isdir(root / name):
            raise InputError(f"{name}: no such directory", hint="DIRS are directories of the enlistment to build")
    dirs = noop.normalise_dirs(str(root), os.getcwd(), list(args.dirs))
    if dirs is None:
        raise InputError(f"DIRS must be inside the enlistment {root}: {' '.join(args.dirs)}")
    env = tuple((name, os.environ[name]) for name in env_allow if name in os.environ)
    number = _official(args)
    if number is not None:
        dirs = ("",)  # the whole enlistment, wherever it is started from
    request = BuildRequest(
        root=root,
        plan_request=PlanRequest(
            root=str(root),
            config=config,
            strict=args.strict,
            build_number=number,
            env=env,
            cache=str(cache_root()),
        ),
        options=Options(
            jobs=jobs,
            fail_fast=args.fail_fast,
            clean=args.clean,
            projects=dirs,
            max_pass=None if args.max_pass is None else Pass(args.max_pass),
        ),
        read_cache=not args.no_cache and number is None,
        explain=args.explain,
        dirs=dirs,
        env_names=env_allow,
    )
    if number is not None:
        from enlist.app import official

        target = official.resolve_target(root, args.publish) if args.publish else None
        built_from = official.require_clean(root)
        console = _console(args.explain)
        return official.run_official(request, load_planner, console, built_from=built_from, target=target)
    revision = _ManifestProbe(root, config) if _manifest_base(root, config).is_file() else None

    def after(state: PlanState, result: BuildResult) -> None:
        after_build(state, result, revision)

    console = _console(args.explain)
    if args.check:
        from enlist.app.check import check_build

        return check_build(request, load_planner, console, sys.stdout, after=after)
    return run_build(request, load_planner, console, after=after)


def after_build(state: PlanState, result: BuildResult, probe: _ManifestProbe | None = None) -> None:
    """`enlist.app.manifests.after_build` (the manifest), imported only for a build that writes one."""
    root = Path(state.roots.enlistment)
    if result.ok and len(result.selected) == len(state.actions) and _manifest_base(root, state.config).is_file():
        from enlist.app.manifests import after_build as write_manifest

        if probe is None:
            write_manifest(state, result)
        else:
            write_manifest(state, result, *probe.get())


def _manifest_base(root: Path, config: str) -> Path:
    from enlist.store.state import MANIFEST_BASE, state_dir

    return state_dir(root, config) / MANIFEST_BASE


class _ManifestProbe:
    """What the manifest of a complete build needs that does not depend on the build, found while the build
    runs rather than after it: the enlistment's commit and dirty state (`git status` over a large tree costs as
    much as a small build; they describe the sources the build started from), and the digests of the files
    the last manifest says were published (`enlist.app.manifests.published_digests`)."""

    def __init__(self, root: Path, config: str) -> None:
        import threading

        self._found: tuple[Revision | None, Seen | None] = (None, None)
        self._thread = threading.Thread(target=self._ask, args=(root, config), name="enlist-manifest", daemon=True)
        self._thread.start()

    def _ask(self, root: Path, config: str) -> None:
        from enlist import vcs
        from enlist.app.manifests import published_digests

        revision = vcs.revision(root)
        self._found = (revision, published_digests(root, config))

    def get(self) -> tuple[Revision | None, Seen | None]:
        self._thread.join()
        return self._found


def _official(args: argparse.Namespace) -> int | None:
    """The build number of an official build, None for a developer build; refuses what does not fit."""
    if not args.official:
        if args.build_number is not None or args.publish is not None:
            flag = "--build-number" if args.build_number is not None else "--publish"
            raise InputError(f"{flag} is for official builds", hint=f"enlist build --official {flag} ...")
        return None
    if args.build_number is None or args.build_number < 0:
        raise InputError(
            "an official build needs a build number",
            hint="pass --build-number N (a non-negative integer) with --official",
        )
    if args.dirs or args.max_pass is not None:
        raise InputError(
            "an official build builds the whole enlistment", hint="leave out DIRS and --pass"
        )
    return int(args.build_number)


def load_planner(request: PlanRequest) -> Plan:
    import importlib

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


def _console(explain: bool) -> Console:
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


def _settings() -> tuple[Path, str, tuple[str, ...]]:
    """(root, default config, allowed variables) of the enlistment: as the last build read them while
    buildconf/enlist.toml keeps its stat signature (`enlist.store.noop.settings`), else from the TOML itself
    (tomllib costs more than a small build), which is then remembered."""
    found = noop.find_root(os.environ.get("ENLIST_ROOT") or os.getcwd())
    kept = noop.settings(found) if found is not None else None
    if found is not None and kept is not None:
        return Path(found), kept[0], kept[1]
    from enlist import workspace

    settings = workspace.load()
    _remember(settings.root, settings.default_config, settings.env_allow)
    return settings.root, settings.default_config, settings.env_allow


def _remember(root: Path, default_config: str, env_allow: tuple[str, ...]) -> None:
    """Let the next build, and the no-op path, skip parsing TOML (format in `enlist.store.state`)."""
    import marshal

    from enlist.store.state import write_atomic

    sig = noop.signature(str(root / noop.ENLIST_TOML))
    if sig is not None:
        record = marshal.dumps((sig, default_config, env_allow))
        write_atomic(root / "out" / ".enlist" / "default-config", record)
