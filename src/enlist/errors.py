"""The one error family of enlist (L0: imports nothing from enlist).

Every error a user can cause carries an exit code (DESIGN.md §7), a message, an optional hint and, where there is
one, a `file:line` location. `render()` is the only way errors reach a terminal, so the format is the same everywhere:

    projects/agent/sources:12: unknown TARGETTYPE 'PROGRAMME'
      hint: one of PROGRAM, LIBRARY, DYNLINK, NOTARGET
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class ExitCode(enum.IntEnum):
    OK = 0
    BUILD_FAILED = 1  # a tool failed: a compile error, a failing test
    USAGE = 2  # usage or input error: bad descriptor, bad config, bad pin
    ENVIRONMENT = 3  # feed unreachable, disk full, cache unwritable
    INTERRUPTED = 130


class Location(NamedTuple):
    """A place in a file; `file` is as the user should see it (enlistment-relative where possible). Ordered
    by file, then line (tuple order)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class EnlistError(Exception):
    """Base of every error enlist reports to a user."""

    code: ExitCode = ExitCode.USAGE
    category: str = "error"

    def __init__(self, message: str, *, hint: str | None = None, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def render(self) -> str:
        where = f"{self.location}: " if self.location else "error: "
        text = f"{where}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_json(self) -> dict[str, object]:
        return {
            "category": self.category,
            "code": int(self.code),
            "message": self.message,
            "hint": self.hint,
            "location": str(self.location) if self.location else None,
        }


class InputError(EnlistError):
    """Bad input from the user: arguments, descriptors, configuration, pins."""

    category = "input"


class DescriptorError(InputError):
    category = "descriptor"


class ConfigError(InputError):
    category = "config"


class GraphError(InputError):
    category = "graph"


class EnvironmentFault(EnlistError):
    """The machine or the network failed us: a feed unreachable, a disk full, a cache unwritable."""

    code = ExitCode.ENVIRONMENT
    category = "environment"


class FeedError(EnvironmentFault):
    category = "feed"


class IntegrityError(EnvironmentFault):
    """Bytes that do not match their recorded digest; they are never used."""

    category = "integrity"


class BuildFailed(EnlistError):
    code = ExitCode.BUILD_FAILED
    category = "build"


class InputErrors(InputError):
    """Several independent input errors found in one pass (every bad descriptor, not only the first), reported
    together the way a compiler reports every error of a file. `render()` lists each one in location order."""

    def __init__(self, errors: list[EnlistError] | tuple[EnlistError, ...], *, limit: int = 50) -> None:
        ordered = tuple(sorted(errors, key=lambda e: (e.location or Location(""), e.message)))
        first = ordered[0]
        super().__init__(first.message, hint=first.hint, location=first.location)
        self.errors = ordered
        self.limit = limit
        self.code = max(e.code for e in ordered)
        self.category = first.category

    def render(self) -> str:
        shown = [e.render() for e in self.errors[: self.limit]]
        if len(self.errors) > self.limit:
            shown.append(f"... and {len(self.errors) - self.limit} more errors")
        return "\n".join(shown)

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data["errors"] = [e.to_json() for e in self.errors]
        return data


def raise_all(errors: list[EnlistError]) -> None:
    """Raise nothing, the one error, or all of them as `InputErrors`."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
