"""`enlist lock [--check] [--refresh]`: pin buildconf/packages.toml to exact files in packages.lock."""

from __future__ import annotations

import argparse
import sys

from enlist import workspace
from enlist.errors import ExitCode
from enlist.toolcache import enlistment


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 2 if the lock does not match packages.toml (offline)",
    )
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="resolve every package again, not only the ones packages.toml changed",
    )


def run(args: argparse.Namespace) -> int:
    root = workspace.find_root()
    if args.check:
        from enlist.toolcache.resolve import stale_reasons

        reasons = stale_reasons(root)
        if reasons:
            print(
                f"{enlistment.LOCK_SHOWN}: stale, it does not match {enlistment.TOML_SHOWN}:", file=sys.stderr
            )
            for reason in reasons:
                print(f"  {reason}", file=sys.stderr)
            print("  hint: run `enlist lock` and commit the lock", file=sys.stderr)
            return ExitCode.USAGE
        print(f"lock: {enlistment.LOCK_SHOWN} is up to date")
        return ExitCode.OK
    from enlist.toolcache.resolve import lock

    result = lock(root, refresh=args.refresh)
    for name in result.resolved:
        print(f"lock: resolved {name}")
    if result.changed:
        print(f"lock: wrote {enlistment.LOCK_SHOWN} ({len(result.lock.pins)} pins)")
    else:
        print(f"lock: {enlistment.LOCK_SHOWN} is up to date")
    return ExitCode.OK
