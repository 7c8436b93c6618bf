"""What happened to an action and why: the vocabulary of the rebuilder and of `--explain` (L1).

Every action a build considers ends with a `Verdict` and a `Reason`; `enlist build --explain` prints them:

    projects/x:compile:a.c: ran: input changed: projects/x/a.h
    projects/x:archive: up to date: its inputs were rebuilt with identical contents (early cutoff)

A `Record` is what the tree remembers about an action's last successful run: the keys it had, the headers the
compiler read, the digests of its outputs and how long it took (the scheduler's cost estimate next time).
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class Verdict(enum.Enum):
    UP_TO_DATE = "up to date"
    CACHED = "cached"  # outputs restored from the action cache
    RAN = "ran"
    FAILED = "failed"
    SKIPPED = "skipped"  # an action it needs failed
    INTERRUPTED = "interrupted"

    @property
    def ok(self) -> bool:
        return self in (Verdict.UP_TO_DATE, Verdict.CACHED, Verdict.RAN)


class Why(enum.Enum):
    UNCHANGED = "no file changed"
    CONTENT_UNCHANGED = "files were touched but their contents are unchanged"
    EARLY_CUTOFF = "its inputs were rebuilt with identical contents (early cutoff)"
    NEW = "no record of a previous run in this tree"
    COMMAND = "its command line, environment or declared files changed"
    INPUT = "input changed"
    DEP = "discovered dependency changed"
    OUTPUT_MISSING = "output missing"
    OUTPUT_CHANGED = "output modified outside the build"
    TOUCHED = "a file changed on disk"
    UPSTREAM = "an action it depends on may have changed"
    CLEAN = "clean build (-c)"
    DEPENDENCY_FAILED = "an action it needs failed"
    INTERRUPTED = "the build was interrupted"


class Reason(NamedTuple):
    why: Why
    detail: str = ""  # a path or an action id

    def __str__(self) -> str:
        return f"{self.why.value}: {self.detail}" if self.detail else self.why.value


class Record(NamedTuple):
    fingerprint: str
    static: str  # static key (declared inputs)
    key: str  # full key (declared inputs + discovered deps)
    deps: tuple[str, ...]  # discovered dependencies, engine paths, sorted
    outputs: tuple[str, ...]  # digests, aligned with the action's outputs
    seconds: float  # how long the command ran (from the cache entry on a hit)


class Outcome(NamedTuple):
    """How one action ended (a failed compile is a value, not an exception)."""

    index: int  # type: ignore[assignment]  # the action's number in the plan (shadows tuple.index, unused)
    verdict: Verdict
    reason: Reason
    record: Record | None = None  # set when the verdict is ok
    output: str = ""  # what the command printed (replayed from the cache on a hit)
    exit_code: int | None = None
    seconds: float = 0.0
    message: str = ""  # the engine's own words when it failed the action: "missing input x"
    warnings: tuple[str, ...] = ()  # problems that did not fail the action (a cache write that failed)
