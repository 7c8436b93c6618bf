"""Where the toolcache lives and how it is laid out on disk (L2; stdlib only, cheap to import).

The cache root is `$ENLIST_CACHE`, else `$XDG_CACHE_HOME/enlist`, else `~/.cache/enlist`
(`%LOCALAPPDATA%\\enlist` on Windows). The toolcache owns `<root>/toolcache/`:

    sha256/ab/<hex>            archives (blobs), named by the sha256 of their bytes; read-only files
    trees/ab/<hex>/            the unpacked tree of archive <hex>: read-only, complete whenever it exists
    trees/ab/<hex>.json        the tree's manifest (enlist.toolcache.tree), written before the tree appears
    tmp/                       work in progress: <hex>.part (resumable download), <hex>.tree-* (extraction),
                               trash-* (entries being deleted); nothing in tmp/ is ever trusted
    locks/<hex>.lock           one advisory lock per archive digest: one process fetches and unpacks it at a
    time registry/<id>.json         enlistments that restored from this cache, for `enlist cache gc`

Every entry appears by an atomic rename from tmp/ (same file system), so a reader sees a complete entry or
none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from enlist.workspace import cache_root


@dataclass(frozen=True, slots=True)
class Layout:
    root: Path  # <cache root>/toolcache

    @classmethod
    def at(cls, cache: Path | None = None) -> Layout:
        return cls((cache if cache is not None else cache_root()) / "toolcache")

    def blob(self, sha256: str) -> Path:
        return self.root / "sha256" / sha256[:2] / sha256

    def tree(self, sha256: str) -> Path:
        return self.root / "trees" / sha256[:2] / sha256

    def manifest(self, sha256: str) -> Path:
        return self.root / "trees" / sha256[:2] / f"{sha256}.json"

    def lock(self, sha256: str) -> Path:
        return self.root / "locks" / f"{sha256}.lock"

    def partial(self, sha256: str) -> Path:
        return self.tmp / f"{sha256}.part"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    def has_tree(self, sha256: str) -> bool:
        return self.tree(sha256).is_dir()

    def has_blob(self, sha256: str) -> bool:
        return self.blob(sha256).is_file()
