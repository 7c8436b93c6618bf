"""The enlistment as the descriptor walk sees it: a `Tree` (L1; the loader implements it over the disk, the
tests over a dict). Kept apart from the walk so that the loader's warm path can name `Kind` without loading
the evaluator."""

from __future__ import annotations

import enum
from typing import Protocol

from enlist.descriptors.limits import MAX_FILE_BYTES

__all__ = ["MAX_FILE_BYTES", "Escape", "Kind", "Tree"]


class Kind(enum.Enum):
    DIR = "dir"
    FILE = "file"
    MISSING = "missing"
    OTHER = "other"  # a device, a socket, a link that cannot be followed (loop)


class Escape(Exception):
    """Raised by `Tree.read` for a file whose real path (symbolic links resolved) is outside the enlistment
    and outside every package tree: a descriptor may not read it, whatever name leads to it."""

    def __init__(self, path: str, real: str) -> None:
        super().__init__(f"{path} leads to {real}")
        self.path = path
        self.real = real


class Tree(Protocol):
    """Paths are enlistment-relative POSIX ("" is the root), or absolute inside a package tree."""

    def kind(self, path: str) -> Kind: ...

    def read(self, path: str) -> bytes | None:
        """The bytes of a file; None when there is no such file. Raises `Escape` for a file that leads
        outside, and `DescriptorError` (at the file) for one that cannot be a descriptor (too large, not a
        regular file)."""
        ...

    def identity(self, path: str) -> str:
        """Equal for two paths that name the same directory (the real path, links resolved)."""
        ...
