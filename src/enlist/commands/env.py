"""`enlist env --shell bash`: print the environment of the enlistment prompt as shell exports.

eval "$(enlist env --shell bash)"
"""

from __future__ import annotations

import argparse
import shlex

from enlist import app
from enlist.app import tools


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shell", choices=["bash", "sh", "json"], default="bash", help="output syntax (default bash)")
    parser.add_argument("--config", help="config to set up, e.g. fre-amd64 (default: the enlistment's)")


def render(env: dict[str, str], shell: str) -> str:
    if shell == "json":
        from enlist.canonical import pretty

        return pretty(env).rstrip("\n")
    return "\n".join(f"export {name}={shlex.quote(value)}" for name, value in env.items())


def run(args: argparse.Namespace) -> int:
    session = app.open_session(args.config)
    print(render(tools.prompt_environment(session), args.shell))
    return 0
