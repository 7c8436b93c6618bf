"""The files of one build tree, seen through a stat cache (L2): `enlist.engine.ports.Files` for real.

The stat cache maps a path to `(mtime_ns, size, inode, sha256)` as recorded by the last build
(`enlist.store.state` persists it). A file whose stat signature is unchanged is not read again; that is what
lets a build with nothing to do, or with one edited source, hash almost nothing. Signatures are only a cache:
keys always use content digests.

Racy files: a file modified within the timestamp granularity after it was hashed could keep its signature with
new content. As git does with its index, an entry hashed less than `RACY_NS` after the file's mtime is saved
as untrusted (mtime -1) and is hashed again by the next build. Outputs of actions are exempt: they were hashed
after the command that wrote them exited.

Each path is stat'ed at most once per build unless an action writes it (`produced`, `restored`, `remove`).
Methods are safe to call from several worker threads: every update is a single dict assignment.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from enlist.digest import of_file

Sig = tuple[int, int, int]  # mtime_ns, size, inode
Entry = tuple[int, int, int, str]  # Sig + sha256 hex
ENTRY = struct.Struct("<qqQ32s")  # an entry as stored: 56 bytes, one object per file in the state
RACY_NS = 50_000_000
UNTRUSTED: Sig = (-1, 0, 0)


def pack(entry: Entry) -> bytes:
    return ENTRY.pack(entry[0], entry[1], entry[2], bytes.fromhex(entry[3]))


def unpack(data: bytes) -> Entry:
    mtime, size, inode, digest = ENTRY.unpack(data)
    return (mtime, size, inode, digest.hex())


class TreeFiles:
    def __init__(self, root: Path, known: Mapping[str, bytes] | None = None) -> None:
        self._prefix = str(root).rstrip("/") + "/"
        self._known: Mapping[str, bytes] = known if known is not None else {}  # last build's, packed; lazy
        self._sigs: dict[str, Sig | None] = {}
        self._fresh: dict[str, tuple[Sig, str, bool]] = {}  # path -> (sig, digest, trusted), this build
        self._scan: tuple[tuple[str, ...], bytes, list[int]] | None = None
        self._scanned: set[str] | None = None

    def _entry(self, path: str) -> Entry | None:
        data = self._known.get(path)
        return None if data is None else unpack(data)

    def _known_sig(self, path: str) -> Sig | None:
        data = self._known.get(path)
        return None if data is None else ENTRY.unpack_from(data)[:3]

    def scanned(self) -> set[str] | None:
        return self._scanned

    def seed(self, paths: tuple[str, ...], sigs: bytes, positions: list[int]) -> None:
        """Take over the no-op check's scan (`enlist.store.noop.Scan`): `paths` is everything this build
        watches, `sigs` their signatures as recorded (packed, see `signatures`), and only the paths at
        `positions` differ now. Nothing is stat'ed again; `signatures` patches the recorded ones."""
        self._scan = (paths, sigs, positions)
        self._scanned = {paths[k] for k in positions}

    def absolute(self, path: str) -> str:
        return path if path.startswith("/") else self._prefix + path

    def stat(self, path: str) -> Sig | None:
        sig = self._sigs.get(path, UNTRUSTED)
        if sig is UNTRUSTED:
            sig = self._sigs[path] = self._restat(path)
        return sig

    def _restat(self, path: str) -> Sig | None:
        try:
            st = os.stat(self.absolute(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def changed(self, path: str) -> bool:
        sig = self.stat(path)
        return sig is None or sig != self._known_sig(path)

    def changed_among(self, paths: Iterable[str]) -> set[str]:
        known, sigs, prefix, stat, head = self._known, self._sigs, self._prefix, os.stat, ENTRY.unpack_from
        changed: set[str] = set()
        for path in paths:
            if path in sigs:
                sig = sigs[path]
            else:
                try:
                    st = stat(path if path[0] == "/" else prefix + path)
                    sig = sigs[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
                except (FileNotFoundError, NotADirectoryError):
                    sig = sigs[path] = None
            data = known.get(path)
            if sig is None or data is None or head(data)[:3] != sig:
                changed.add(path)
        return changed

    def signatures(self, paths: Sequence[str]) -> bytes:
        """`signature` of each path, flattened and packed as signed 64-bit integers in the machine's byte
        order: the body of the no-op record."""
        out = array("q")
        scan = self._scan
        if scan is not None and (paths is scan[0] or tuple(paths) == scan[0]):
            out.frombytes(scan[1])
            for k, path in self._written(scan[0], scan[2]):
                out[3 * k : 3 * k + 3] = array("q", self.signature(path))
            return out.tobytes()
        for path in paths:
            out.extend(self.signature(path))
        return out.tobytes()

    def _written(self, paths: tuple[str, ...], positions: list[int]) -> list[tuple[int, str]]:
        """Where in the scan's `paths` the files are that changed or that this build stat'ed or wrote."""
        found = {k: paths[k] for k in positions}
        mine = (self._fresh.keys() | self._sigs.keys()).difference(found.values())
        if len(mine) < 64:  # a few: look each up (a pass over 20,000 paths costs more)
            for path in mine:
                with contextlib.suppress(ValueError):  # not watched: a file of another selection
                    found[paths.index(path)] = path
        else:
            found.update((k, p) for k, p in enumerate(paths) if p in mine)
        return sorted(found.items())

    def digest(self, path: str) -> str | None:
        sig = self.stat(path)
        if sig is None:
            return None
        fresh = self._fresh.get(path)
        if fresh is not None and fresh[0] == sig:
            return fresh[1]
        entry = self._entry(path)
        if entry is not None and entry[:3] == sig:
            self._fresh[path] = (sig, entry[3], True)
            return entry[3]
        return self._hash(path, sig, trusted=False)

    def _hash(self, path: str, sig: Sig, *, trusted: bool) -> str | None:
        before = time.time_ns()
        try:
            d = of_file(Path(self.absolute(path)))
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            self._sigs[path] = None
            return None
        self._fresh[path] = (sig, d, trusted or sig[0] < before - RACY_NS)
        return d

    def previous_digest(self, path: str) -> str | None:
        entry = self._entry(path)
        return entry[3] if entry is not None else None

    def produced(self, path: str) -> str | None:
        sig = self._sigs[path] = self._restat(path)
        if sig is None:
            return None
        return self._hash(path, sig, trusted=True)

    def restored(self, path: str, digest: str) -> None:
        sig = self._sigs[path] = self._restat(path)
        if sig is not None:
            self._fresh[path] = (sig, digest, True)

    def is_executable(self, path: str) -> bool:
        return os.access(self.absolute(path), os.X_OK)

    def read_text(self, path: str) -> str | None:
        try:
            return Path(self.absolute(path)).read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return None

    def remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            os.unlink(self.absolute(path))
        self._sigs[path] = None
        self._fresh.pop(path, None)

    def signature(self, path: str) -> Sig:
        """The signature a no-op check may trust for `path`, or `UNTRUSTED` (which never matches a real
        stat)."""
        fresh = self._fresh.get(path)
        if fresh is not None:
            return fresh[0] if fresh[2] else UNTRUSTED
        sig = self.stat(path)
        if sig is not None and sig == self._known_sig(path):
            return sig
        return UNTRUSTED

    def changes(self) -> dict[str, bytes | None]:
        """What `entries` changes in the last build's stat cache: new or different entries, and None for the
        files that are gone (the journal of `enlist.store.state`)."""
        known = self._known
        out: dict[str, bytes | None] = {}
        for path, (sig, d, trusted) in self._fresh.items():
            packed = pack((*(sig if trusted else UNTRUSTED), d))
            if known.get(path) != packed:
                out[path] = packed
        for path, seen in self._sigs.items():
            if seen is None and (path in known or path in out):
                out[path] = None
        return out

    def entries(self) -> dict[str, bytes]:
        """The stat cache to persist: last build's entries updated with everything verified by this one."""
        merged = dict(self._known.items())
        for path, entry in self.changes().items():
            if entry is None:
                merged.pop(path, None)
            else:
                merged[path] = entry
        return merged
