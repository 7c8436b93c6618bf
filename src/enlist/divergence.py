"""Where two builds that should be identical differ (L1, pure): the verdicts of `enlist reproduce` (published
files against a manifest) and of `enlist build --check` (every action's outputs against a second build).

    compare_files(recorded, reproduced)   path -> sha256 maps  ->  [FileDifference], sorted by path
    compare_actions(first, second)        id -> ActionOutputs  ->  [ActionDifference], culprits first

An action whose cache key is the same in both builds had the same command, tools, environment and input
contents: if its outputs still differ, the action itself is not deterministic (a *culprit*). One whose key
differs only inherited a difference from upstream. Separating the two is what makes a report readable: a
generator that writes the time changes one header, and then every object, archive, program and published copy
downstream; the report names the generator first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

SHORT = 12  # hex digits of a digest shown in tables
_COMMIT = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1, or SHA-256 repositories


@dataclass(frozen=True, slots=True)
class FileDifference:
    path: str
    recorded: str | None  # sha256 in the first build (the manifest); None: it did not have the file
    reproduced: str | None  # sha256 in the second build; None: it did not produce the file


@dataclass(frozen=True, slots=True)
class ActionOutputs:
    """What one build says about one action: its cache key and the sha256 of each output."""

    label: str
    key: str
    files: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ActionDifference:
    action: str  # the action's id
    label: str
    culprit: bool  # same key, different outputs: the action is not deterministic
    files: tuple[FileDifference, ...]


def compare_files(recorded: Mapping[str, str], reproduced: Mapping[str, str]) -> list[FileDifference]:
    """Every path whose digest differs, or that only one side has."""
    return [
        FileDifference(path, recorded.get(path), reproduced.get(path))
        for path in sorted(set(recorded) | set(reproduced))
        if recorded.get(path) != reproduced.get(path)
    ]


def compare_actions(first: Mapping[str, ActionOutputs], second: Mapping[str, ActionOutputs]) -> list[ActionDifference]:
    """The actions both builds ran (or found up to date) whose outputs differ: culprits first, then by id."""
    found = []
    for action in sorted(set(first) & set(second)):
        a, b = first[action], second[action]
        files = compare_files(a.files, b.files)
        if files:
            found.append(ActionDifference(action, a.label, a.key == b.key, tuple(files)))
    return sorted(found, key=lambda d: (not d.culprit, d.action))


def is_plain_path(path: str) -> bool:
    """An enlistment-relative POSIX path that stays inside the enlistment: what a manifest may name."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and ".." not in parts and "\\" not in path


def is_commit(text: str) -> bool:
    return bool(_COMMIT.fullmatch(text))


def short(sha256: str | None) -> str:
    return sha256[:SHORT] if sha256 else "(missing)"


def file_table(differences: Sequence[FileDifference], names: tuple[str, str], indent: str = "  ") -> list[str]:
    """Aligned lines: a header `file  <names[0]>  <names[1]>`, then one row per difference."""
    rows = [("file", *names)] + [(d.path, short(d.recorded), short(d.reproduced)) for d in differences]
    return table(rows, indent)


def table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
