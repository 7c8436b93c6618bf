"""`enlist reproduce MANIFEST|URL [--repo PATH|URL] [-j N]`

Rebuilds the commit a build manifest records, in a temporary checkout, with that commit's own bootstrap.py
and pins and no cache, and compares every published file with the manifest (see `enlist.app.reproduce`).
Exit 0 when every file is identical ("reproduced N files"), 1 when anything differs (a table of the files,
explained with diffoscope when it is installed), 2 for a manifest that cannot be reproduced (a dirty tree),
3 when a commit or a pin cannot be found.
"""

from __future__ import annotations

import argparse
import sys

from enlist.errors import InputError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", metavar="MANIFEST", help="out/<config>/manifest.json of a build, or its URL")
    parser.add_argument(
        "--repo",
        metavar="PATH|URL",
        default=None,
        help="the repository that holds the manifest's commit (default: the one of the current directory)",
    )
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help="run N actions at once")


def run(args: argparse.Namespace) -> int:
    from enlist.app.reproduce import ReproduceRequest, reproduce

    if args.jobs is not None and args.jobs < 1:
        raise InputError(f"-j {args.jobs}: the number of jobs must be at least 1")
    request = ReproduceRequest(source=args.manifest, repo=args.repo, jobs=args.jobs)
    return reproduce(request, sys.stdout, sys.stderr)
