"""`enlist restore [--dry-run] [-j N] [--platform P]`: install exactly what buildconf/packages.lock pins.

With everything in the cache this is offline and quick, and neither requests nor rich is imported.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from enlist import workspace
from enlist.errors import ExitCode
from enlist.model.packages import PLATFORMS, PackageEnvironment
from enlist.toolcache.events import RestoreEvents, Transfer
from enlist.toolcache.plan import Step, StepKind
from enlist.toolcache.restore import DEFAULT_JOBS, restore

__all__ = ["configure", "post_restore", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan (ready / unpack / fetch) and stop"
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=DEFAULT_JOBS,
        metavar="N",
        help=f"packages fetched and unpacked at once (default {DEFAULT_JOBS})",
    )
    parser.add_argument(
        "--platform", choices=PLATFORMS, help="restore another platform's pins (default: this one)"
    )


class _LazyEvents:
    """Builds the console reporter only when there is work to show (the no-op path stays light)."""

    def __init__(self) -> None:
        self._inner: RestoreEvents | None = None

    @property
    def inner(self) -> RestoreEvents:
        if self._inner is None:
            from enlist.console.progress import restore_events

            self._inner = restore_events(sys.stderr)
        return self._inner

    def planned(self, steps: Sequence[Step]) -> None:
        self.inner.planned(steps)

    def fetching(self, step: Step) -> Transfer:
        return self.inner.fetching(step)

    def unpacking(self, step: Step) -> Transfer:
        return self.inner.unpacking(step)

    def done(self, step: Step) -> None:
        self.inner.done(step)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()


def run(args: argparse.Namespace) -> int:
    root = workspace.find_root()
    events = _LazyEvents()
    result = restore(
        root, platform=args.platform, events=events, jobs=max(1, args.jobs), dry_run=args.dry_run
    )
    if args.dry_run:
        for step in result.steps:
            print(step.describe())
        return ExitCode.OK
    post_restore(root, result.environment)
    fetched, unpacked = result.count(StepKind.FETCH), result.count(StepKind.UNPACK)
    count = len(result.environment.packages)
    if fetched or unpacked:
        print(f"restore: {_packages(count)} ready ({fetched} fetched, {unpacked} unpacked from the cache)")
    else:
        print(f"restore: {_packages(count)} up to date")
    if not result.registered:
        print(
            "restore: note: the cache is read-only: this enlistment is not registered for `enlist cache gc`",
            file=sys.stderr,
        )
    return ExitCode.OK


def _packages(count: int) -> str:
    return f"{count} package" if count == 1 else f"{count} packages"


def post_restore(root: Path, environment: PackageEnvironment) -> None:
    """Steps that follow a restore, given the restored packages (the toolchain warms zig's libc here)."""
    del root, environment
