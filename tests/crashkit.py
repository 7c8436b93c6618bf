"""Run enlist in this process and kill it with SIGKILL at an exact moment: the Nth rename, replace or hard link
it makes (the operations that make a file appear under its final name), or truncation (the tree's journal is
cut to its valid length just before a build appends to it), just before or just after it.

    python crashkit.py count FILE -- build -j 2      run `enlist build -j 2`, write the number of such operations
                                                      to FILE when it exits
    python crashkit.py before N -- build            SIGKILL itself instead of doing the Nth operation
    python crashkit.py after N -- restore           SIGKILL itself right after the Nth operation

With `CRASHKIT_NOTE=FILE` in the environment, the operation and its target path are written to FILE just
before the kill. The operations are counted across every thread, in the order they happen. Nothing in enlist
knows about this: the functions of `os` are wrapped before enlist is imported. The commands enlist started are
not killed (they run in process groups of their own), exactly as when a user or a CI system sends `kill -9` to
enlist's pid.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

OPERATIONS = ("replace", "rename", "link", "ftruncate")


def die(operation: str, args: tuple[Any, ...]) -> None:
    """SIGKILL this process, first noting in $CRASHKIT_NOTE what it was about to do or had just done."""
    note = os.environ.get("CRASHKIT_NOTE")
    if note:
        target = args[-1] if args else ""
        if operation == "ftruncate":  # (fd, length): name the file
            target = os.readlink(f"/proc/self/fd/{args[0]}")
        with open(note, "w") as f:
            f.write(f"{operation} {os.fsdecode(target)}\n")
    os.kill(os.getpid(), signal.SIGKILL)


def install(mode: str, at: int) -> Callable[[], int]:
    """Wrap the operations; returns a function giving how many happened so far."""
    lock = threading.Lock()
    seen = [0]

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def operation(*args: Any, **kwargs: Any) -> Any:
            with lock:
                seen[0] += 1
                number = seen[0]
            if mode == "before" and number == at:
                die(original.__name__, args)
            result = original(*args, **kwargs)
            if mode == "after" and number == at:
                die(original.__name__, args)
            return result

        return operation

    for name in OPERATIONS:
        setattr(os, name, wrap(getattr(os, name)))
    return lambda: seen[0]


def main(argv: list[str]) -> None:
    mode, value, separator, *args = argv
    assert mode in ("count", "before", "after") and separator == "--", argv
    count = install(mode, 0 if mode == "count" else int(value))
    from enlist import cli

    try:
        code = cli.run(args)
    finally:
        if mode == "count":
            with open(value, "w") as f:
                f.write(f"{count()}\n")
    sys.exit(code)


if __name__ == "__main__":
    main(sys.argv[1:])
