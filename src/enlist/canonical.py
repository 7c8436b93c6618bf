"""Canonical forms (L0): the bytes that feed keys, manifests and lock files must not depend on dict order,
platform path separators or float formatting.

- `dumps(obj)`: canonical JSON (sorted keys, no spaces, UTF-8, no NaN); `digest(obj)` is its sha256.
- `posix_relative(path, root)`: a path as the POSIX string relative to `root`, refusing paths outside it.
"""

from __future__ import annotations

import json
from pathlib import PurePath, PurePosixPath
from typing import Any

from enlist.digest import of_bytes


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def digest(obj: Any) -> str:
    return of_bytes(dumps(obj).encode("utf-8"))


def pretty(obj: Any) -> str:
    """Stable, human-friendly JSON for files people read and diff (manifests, summaries)."""
    return json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def posix_relative(path: PurePath, root: PurePath) -> str:
    """`path` relative to `root` as a POSIX string; ValueError if it is not inside `root`."""
    rel = path.relative_to(root)
    text = PurePosixPath(*rel.parts).as_posix()
    return text
