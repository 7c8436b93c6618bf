"""`enlist version`: print the version of enlist."""

from __future__ import annotations

import argparse

from enlist import __version__


def configure(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    print(f"enlist {__version__}")
    return 0
