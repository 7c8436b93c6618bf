"""`enlist doctor`: check that this machine can build the enlistment, and say what to do about each problem.

Each check prints one line, `ok`, `warn` or `FAIL`, with a fix for anything that is not ok. The exit code is 0 when
nothing failed, 3 otherwise (an environment problem, DESIGN.md §7).
"""

from __future__ import annotations

import argparse
import enum
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from enlist import app, workspace
from enlist.app import tools
from enlist.errors import EnlistError, ExitCode

MIN_FREE_BYTES = 2 << 30  # zig unpacked is ~0.4 GB, its libc cache ~0.1 GB per target, plus outputs


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_python() -> Finding:
    # enlist itself refuses to install below 3.11 (pyproject's requires-python), so reaching here means it is enough.
    version = ".".join(map(str, sys.version_info[:3]))
    return Finding("python", Status.OK, f"Python {version}")


def check_free_space(name: str, path: Path) -> Finding:
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(existing).free
    detail = f"{free / (1 << 30):.1f} GiB free at {path}"
    if free < MIN_FREE_BYTES:
        return Finding(name, Status.FAIL, detail, f"free at least {MIN_FREE_BYTES >> 30} GiB there")
    return Finding(name, Status.OK, detail)


def check_writable(name: str, path: Path, fix: str) -> Finding:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as e:
        return Finding(name, Status.FAIL, f"{path} is not writable ({e.strerror})", fix)
    return Finding(name, Status.OK, f"{path} is writable")


def check_program(name: str, why: str) -> Finding:
    found = shutil.which(name)
    if found is None:
        return Finding(name, Status.WARN, f"{name} not found on PATH ({why})", f"install {name}")
    return Finding(name, Status.OK, found)


def run_check(name: str, check: Callable[[], Finding]) -> Finding:
    """A check that raises an enlist error reports it as a failure instead of stopping the others."""
    try:
        return check()
    except EnlistError as e:
        return Finding(name, Status.FAIL, e.message, e.hint or "")


def findings(session: app.Session) -> Iterator[Finding]:
    cache = workspace.cache_root()
    yield check_python()
    yield check_free_space("disk (enlistment)", session.root)
    yield check_free_space("disk (cache)", cache)
    yield check_writable("cache", cache, "set ENLIST_CACHE to a writable directory")
    yield check_writable("outputs", session.root / "out", "make the enlistment writable")
    yield check_program("git", "manifests record the commit; official builds and reproduce need it")
    yield check_program("bash", "the enlistment prompt is a bash shell")
    for name, check in tools.doctor_checks(session):
        yield run_check(name, check)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="config to check (default: the enlistment's)")


def run(args: argparse.Namespace) -> int:
    session = app.open_session(args.config)
    failed = False
    for finding in findings(session):
        print(f"{finding.status.value:>4}  {finding.name}: {finding.detail}")
        if finding.fix and finding.status is not Status.OK:
            print(f"      fix: {finding.fix}")
        failed |= finding.status is Status.FAIL
    return int(ExitCode.ENVIRONMENT if failed else ExitCode.OK)


