"""The enlistment as the descriptor walk sees it: a `Tree` (L1; the loader implements it over the disk, the
tests over a dict). Kept apart from the walk so that the loader's warm path can name `Kind` without loading
the evaluator."""

from __future__ import annotations

import enum
from typing import Protocol

MAX_FILE_BYTES = 4 << 20  # real descriptors are a few kB; this bounds what a hostile file can cost


class Kind(enum.Enum):
    DIR = "dir"
    FILE = "file"
    MISSING = "missing"
    OTHER = "other"  # a device, a socket, a link that cannot be followed (loop)


class Tree(Protocol):
    """Paths are enlistment-relative POSIX ("" is the root), or absolute inside a package tree."""

    def kind(self, path: str) -> Kind: ...

    def read(self, path: str) -> bytes | None:
        """The bytes of a file; None when there is no such file."""
        ...

    def identity(self, path: str) -> str:
        """Equal for two paths that name the same directory (the real path, links resolved)."""
        ...
