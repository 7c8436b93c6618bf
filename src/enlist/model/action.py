"""Actions: the unit the engine schedules, caches and runs (L0).

The planner turns evaluated projects and toolchain rules into actions; the engine never looks at descriptors. An
action is one command with declared inputs and outputs (compile one file, archive, link, generate, run a test), or
an in-process step (publish copies) that the engine performs itself.

Paths follow the rules of `enlist.model.project`: enlistment-relative POSIX, or absolute for restored package trees.
`argv` is the real command line, absolute paths included; the engine normalises it for the cache key with the
build's `PathRoots` (enlistment root -> ".", each package tree -> "@<name>/<sha256>"), so keys do not depend on
where the enlistment or the cache live.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from enlist.model.passes import Pass


class ActionKind(enum.Enum):
    GENERATE = "generate"  # pass0 code generator (re2c, ...)
    COMPILE = "compile"  # one C/C++ translation unit -> object (+ depfile)
    ARCHIVE = "archive"  # objects -> static library
    LINK = "link"  # objects + libraries -> program or shared library
    STAMP = "stamp"  # the version stamp object linked into programs and shared libraries (pass2)
    PUBLISH = "publish"  # copy outputs into $(PUBLIC_ROOT): performed in-process, atomically
    TEST = "test"  # run a test program in postbuild; its output file is the result


class Action(NamedTuple):
    id: str  # stable, unique and readable: "projects/replica/lib:compile:log.c"
    kind: ActionKind
    project: str  # the project's directory (Project.dir)
    pass_: Pass
    argv: tuple[str, ...]  # empty for PUBLISH
    inputs: tuple[str, ...]  # declared inputs, sorted; discovered headers come from `depfile`
    outputs: tuple[str, ...]  # every file the action writes, sorted; all enlistment-relative
    env: tuple[tuple[str, str], ...] = ()  # the complete, scrubbed environment of the command, sorted
    cwd: str = "."  # enlistment-relative working directory
    depfile: str | None = None  # Makefile-syntax depfile the command writes (not an output: it is consumed)
    after: tuple[str, ...] = ()  # order-only dependencies: ids of actions that must finish first
    publish: tuple[tuple[str, str], ...] = ()  # PUBLISH only: (src, dest) pairs
    description: str = ""  # one line for people: "CC projects/replica/lib/log.c"
    stdout: str | None = None  # TEST: the declared output that receives the command's stdout and stderr, which
    #                            the engine writes even when the command fails (a non-zero exit fails the action)

    @property
    def label(self) -> str:
        return self.description or self.id


class PathRoots(NamedTuple):
    """Absolute prefixes and the symbolic names that replace them in cache keys, manifests and logs."""

    enlistment: str  # absolute path of the enlistment root -> "."
    packages: tuple[tuple[str, str], ...] = ()  # (absolute tree path, "@name/sha256"), longest first
