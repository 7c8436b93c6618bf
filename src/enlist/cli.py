"""The `enlist` command line (L3).

Subcommands live in `enlist.commands.<name>` and are imported only when run, so that `enlist build` on an
unchanged tree pays for nothing it does not use (no rich, requests or networkx on the no-op path). Each
command module provides `configure(parser)` and `run(args) -> int`.

`enlist build` first tries `enlist.store.noop`, which answers "nothing to do" from builtin modules alone; this
module therefore imports nothing at the top but `os` and `sys` (argparse, typing and enlist.errors cost more
than the whole no-op check).
"""

from __future__ import annotations

import os
import sys

from enlist import __version__

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing alone costs more than a no-op build
if TYPE_CHECKING:
    import argparse
    from typing import Protocol

    class Command(Protocol):
        def configure(self, parser: argparse.ArgumentParser) -> None: ...

        def run(self, args: argparse.Namespace) -> int: ...


# name -> (module, one-line summary). Keep sorted by how often people type them.
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("enlist.commands.build", "build the enlistment, or DIRS and what they consume"),
    "clean": ("enlist.commands.clean", "delete the outputs, public tree and logs of a config"),
    "restore": ("enlist.commands.restore", "install exactly what buildconf/packages.lock pins"),
    "lock": ("enlist.commands.lock", "pin buildconf/packages.toml to exact files and sha256"),
    "cache": ("enlist.commands.cache", "toolcache upkeep: stats, verify, gc; export/import offline bundles"),
    "publish": ("enlist.commands.publish", "publish the packages of the last official build to a feed"),
    "graph": ("enlist.commands.graph", "show the project graph: (project, pass) nodes and their reasons"),
    "doctor": ("enlist.commands.doctor", "check that this machine can build the enlistment, with fixes"),
    "reproduce": ("enlist.commands.reproduce", "rebuild the commit of a manifest from nothing and compare its files"),
    "new": ("enlist.commands.new", "create a new enlistment (bootstrap.py, buildconf, dirs) in DIR"),
    "env": ("enlist.commands.env", "print the environment of the enlistment prompt (--shell bash)"),
    "shell": ("enlist.commands.shell", "open the enlistment prompt (bash) with its environment and aliases"),
    "version": ("enlist.commands.version", "print the version of enlist"),
}


def _disk_full() -> tuple[int, ...]:
    import errno

    return (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {summary}" for name, (_, summary) in COMMANDS.items()]
    return "usage: enlist [-C DIR] COMMAND [ARGS]\n\ncommands:\n" + "\n".join(lines) + (
        "\n\nRun `enlist COMMAND --help` for the options of a command."
    )


def main(argv: list[str] | None = None) -> None:
    try:
        code = run(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:  # `enlist graph | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    try:  # noqa: SIM105 (contextlib is one more import on the no-op path)
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or gone: nothing left to tell anyone
        pass
    # Every command has closed its files and joined its threads by now. Ending the process here skips the
    # interpreter's teardown, which frees every object one by one: 15-30 ms after a build of 10,000 actions,
    # a quarter of what one edited source may cost in all.
    os._exit(code)


def run(argv: list[str]) -> int:
    if argv[:1] == ["-C"] and len(argv) >= 2:
        os.chdir(argv[1])
        argv = argv[2:]
    if argv[:1] == ["build"]:
        from enlist.store.noop import try_noop

        try:
            code = try_noop(argv[1:], __version__)
        except KeyboardInterrupt:
            return 130
        if code is not None:
            return code
    return _run(argv)


def _quick_args(command: object, argv: list[str]) -> argparse.Namespace | None:
    """The command's own parse of a plain command line (`quick_args`, for the commands whose every run
    counts, such as `build`): argparse costs more to import than a small build does. None: use argparse."""
    quick = getattr(command, "quick_args", None)
    return None if quick is None else quick(argv)


def _run(argv: list[str]) -> int:
    import importlib

    from enlist.errors import EnlistError, ExitCode

    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return ExitCode.OK if argv else ExitCode.USAGE
    if argv[0] == "--version":
        print(f"enlist {__version__}")
        return ExitCode.OK
    name = argv[0]
    if name not in COMMANDS:
        names = ", ".join(sorted(COMMANDS))
        print(f"error: unknown command '{name}'\n  hint: one of {names}", file=sys.stderr)
        return ExitCode.USAGE
    module_name, summary = COMMANDS[name]
    command: Command = importlib.import_module(module_name)
    try:
        args = _quick_args(command, argv[1:])
        if args is None:
            import argparse

            parser = argparse.ArgumentParser(prog=f"enlist {name}", description=summary)
            command.configure(parser)
            args = parser.parse_args(argv[1:])
        return int(command.run(args))
    except EnlistError as e:
        print(e.render(), file=sys.stderr)
        return int(e.code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as e:  # a bug in enlist, not the user's input: say so and show where
        if isinstance(e, OSError) and e.errno in _disk_full():  # wherever it struck, the disk is to blame
            where = f"cannot write {e.filename}: " if e.filename else ""
            print(f"error: {where}{e.strerror}\n  hint: free disk space and run it again", file=sys.stderr)
            return ExitCode.ENVIRONMENT
        import traceback

        traceback.print_exc()
        print("internal error in enlist (this is a bug; please report it with the trace above)",
              file=sys.stderr)
        return 70
