"""`enlist restore [--dry-run] [-j N] [--platform P]`: install exactly what buildconf/packages.lock pins.

With everything in the cache this is offline and quick, and neither requests nor rich is imported.
"""

from __future__ import annotations

import argparse
import sys

from enlist import app
from enlist.app import tools
from enlist.errors import ExitCode
from enlist.model.packages import PLATFORMS
from enlist.toolcache.plan import StepKind
from enlist.toolcache.restore import DEFAULT_JOBS

__all__ = ["configure", "run"]


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


def run(args: argparse.Namespace) -> int:
    session = app.open_session()
    result = tools.restore_tools(session, jobs=args.jobs, platform=args.platform, dry_run=args.dry_run)
    if args.dry_run:
        for step in result.steps:
            print(step.describe())
        return ExitCode.OK
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
