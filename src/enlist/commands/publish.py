"""`enlist publish FEED [--config C]`: publish the packages and manifest of the last official build of a config
(`out/<config>/packages/`) to FEED: a feed of packages.toml by name, a folder, or an upload URL. Publishing is
idempotent: files the feed already holds with the same bytes are skipped; other bytes are refused (exit 2)."""

from __future__ import annotations

import argparse

from enlist import workspace
from enlist.errors import ExitCode


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "feed", metavar="FEED", help="a feed of packages.toml, a folder path (./drops) or an http(s):// upload URL"
    )
    parser.add_argument("--config", default=None, help="whose official build to publish (default: the current)")


def run(args: argparse.Namespace) -> int:
    from enlist.app import official

    settings = workspace.load()
    config = workspace.current_config(settings, args.config)
    target = official.resolve_target(settings.root, args.feed)
    print(f"enlist: {official.publish_last(settings.root, config, target)}")
    return ExitCode.OK
