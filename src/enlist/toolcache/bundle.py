"""Offline bundles of a lock's pins (L2): `enlist cache export BUNDLE` and `enlist cache import BUNDLE`.

A lab that must rebuild a release years later cannot count on its feeds: files get deleted, hosts renamed. A
bundle holds every archive the lock pins (on every platform, or those asked for), so that importing it into a
machine's toolcache lets `enlist restore` work with no feed at all.

Format: a plain tar (the archives in it are compressed already), written deterministically by
`enlist.release.archive` (sorted members, uid/gid 0, mtime 0):

    enlist-bundle.json   {"format": 1, "lock": "<sha256 of packages.lock>",
                          "pins": [{"feed": ..., "package": ..., "platform": ..., "sha256": ..., "url": ...,
                                    "version": ...}, ...]}
    packages.lock        the lock the bundle was made from, byte for byte
    sha256/<hex>         each pinned archive, once per digest

Import reads the tar as a stream and trusts nothing: `packages.lock` must hash to the recorded digest and pin
exactly the recorded pins, every archive must hash to its name before it is stored (`Store.commit_blob`), no
other member is allowed, and every pin must find its archive. Archives verified before a failure stay in the
cache: they are content-addressed, so a verified blob is always safe to keep.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from enlist import canonical, digest, lockfile
from enlist.errors import EnvironmentFault, InputError, IntegrityError
from enlist.model.packages import ANY_PLATFORM, Lock, PackagesConfig, Pin
from enlist.release import archive
from enlist.toolcache import enlistment
from enlist.toolcache.events import NullEvents, RestoreEvents
from enlist.toolcache.layout import Layout
from enlist.toolcache.plan import Step, StepKind
from enlist.toolcache.store import Store

FORMAT = 1
HEADER = "enlist-bundle.json"
LOCK = "packages.lock"
BLOBS = "sha256"
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Exported:
    pins: int
    archives: int
    fetched: int  # archives that were not in the cache and came from their feeds
    bytes: int


@dataclass(frozen=True, slots=True)
class Imported:
    pins: int
    archives: int
    added: int  # archives the cache did not hold yet
    lock: str  # sha256 of the bundle's lock


def export_bundle(
    root: Path,
    bundle: Path,
    *,
    platforms: Sequence[str] = (),
    cache: Path | None = None,
    events: RestoreEvents | None = None,
) -> Exported:
    """Write a bundle of the pins of the enlistment's lock (those of `platforms` only, when given)."""
    packages = enlistment.load(root)
    if packages.lock is None:
        raise InputError(f"{enlistment.LOCK_SHOWN} not found", hint="run `enlist lock` first")
    reasons = lockfile.stale_reasons(packages.config, packages.lock)
    if reasons:
        raise enlistment.stale_error(reasons)
    pins = [p for p in packages.lock.pins if not platforms or p.platform in (*platforms, ANY_PLATFORM)]
    if not pins:
        raise InputError(f"no pin of {enlistment.LOCK_SHOWN} is for {', '.join(platforms)}")
    store = Store(Layout.at(cache))
    fetched = _ensure_blobs(root, packages.config, pins, store, events or NullEvents())
    lock_bytes = (root / enlistment.LOCK_SHOWN).read_bytes()
    header = {
        "format": FORMAT,
        "lock": digest.of_bytes(lock_bytes),
        "pins": [asdict(p) for p in sorted(pins)],
    }
    digests = sorted({p.sha256 for p in pins})
    members = [
        archive.Member(HEADER, data=canonical.pretty(header).encode("utf-8")),
        archive.Member(LOCK, data=lock_bytes),
        *(archive.Member(f"{BLOBS}/{d}", source=store.layout.blob(d)) for d in digests),
    ]
    try:
        archive.write(bundle, members, mtime=0, compress=False)
    except OSError as e:
        raise EnvironmentFault(f"cannot write the bundle {bundle}: {e.strerror or e}") from e
    return Exported(len(pins), len(digests), fetched, bundle.stat().st_size)


def _ensure_blobs(root: Path, config: PackagesConfig, pins: Sequence[Pin], store: Store, events: RestoreEvents) -> int:
    """Make every pinned archive a verified blob of the cache, fetching what is missing; how many were."""
    from enlist.toolcache.feeds import Feeds  # requests: only when something must be fetched
    from enlist.toolcache.restore import fetch

    feeds: Feeds | None = None
    fetched = 0
    for pin in {p.sha256: p for p in sorted(pins)}.values():
        with store.locked(pin.sha256):
            blob = store.layout.blob(pin.sha256)
            if blob.is_file() and digest.of_file(blob) == pin.sha256:
                continue
            store.remove_blob(pin.sha256)  # absent, or rotted on disk
            feeds = feeds or Feeds(config, root)
            fetch(pin, feeds.get(pin.feed), store, events, Step(pin, StepKind.FETCH))
            fetched += 1
    return fetched


def import_bundle(bundle: Path, *, cache: Path | None = None) -> Imported:
    """Verify a bundle and put its archives into the cache."""
    store = Store(Layout.at(cache))
    try:
        with bundle.open("rb") as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
            return _import(tar, bundle, store)
    except FileNotFoundError as e:
        raise InputError(f"{bundle}: no such bundle") from e
    except tarfile.TarError as e:
        raise InputError(f"{bundle}: not a bundle ({e})", hint="make one with `enlist cache export`") from e


def _import(tar: tarfile.TarFile, bundle: Path, store: Store) -> Imported:
    header: dict[str, Any] | None = None
    pins: dict[str, list[Pin]] = {}
    seen: set[str] = set()
    added = 0
    lock_digest = ""
    for member in tar:
        name = member.name.rstrip("/")
        if member.isdir() and name == BLOBS:
            continue
        stream = tar.extractfile(member) if member.isreg() else None
        if stream is None:
            raise _bad(bundle, f"unexpected member '{member.name}'")
        if header is None:
            if name != HEADER:
                raise _bad(bundle, f"'{HEADER}' must come first, found '{member.name}'")
            header = _header(stream.read(), bundle)
        elif name == LOCK and not lock_digest:
            lock_digest, pins = _lock(stream.read(), header, bundle)
        elif name.startswith(f"{BLOBS}/") and lock_digest and name[len(BLOBS) + 1 :] in pins:
            sha256 = name[len(BLOBS) + 1 :]
            added += _store_blob(stream, sha256, pins[sha256][0], store)
            seen.add(sha256)
        else:
            raise _bad(bundle, f"unexpected member '{member.name}'")
    if header is None or not lock_digest:
        raise _bad(bundle, f"it lacks '{HEADER if header is None else LOCK}'")
    missing = sorted(set(pins) - seen)
    if missing:
        labels = ", ".join(f"{p.package} {p.version} ({p.platform})" for d in missing for p in pins[d])
        raise IntegrityError(f"{bundle} is incomplete: no archive for {labels}", hint="export the bundle again")
    return Imported(sum(len(v) for v in pins.values()), len(seen), added, lock_digest)


def _bad(bundle: Path, why: str) -> InputError:
    return InputError(f"{bundle}: not a valid bundle: {why}", hint="make one with `enlist cache export`")


def _header(data: bytes, bundle: Path) -> dict[str, Any]:
    try:
        header = json.loads(data)
    except ValueError as e:
        raise _bad(bundle, f"'{HEADER}' is not JSON") from e
    if not isinstance(header, dict) or header.get("format") != FORMAT or not isinstance(header.get("pins"), list):
        raise _bad(bundle, f"'{HEADER}' is not of format {FORMAT}")
    return header


def _lock(data: bytes, header: dict[str, Any], bundle: Path) -> tuple[str, dict[str, list[Pin]]]:
    """The lock's digest and {archive digest: its pins}, once the lock matches what the header records."""
    lock_digest = digest.of_bytes(data)
    if lock_digest != header.get("lock"):
        raise IntegrityError(
            f"{bundle}: its packages.lock has sha256 {lock_digest}, the bundle records {header.get('lock')}",
            hint="the bundle was changed after it was made; export it again",
        )
    lock: Lock = lockfile.parse(data.decode("utf-8"), f"{bundle}:{LOCK}")
    try:
        recorded = [Pin(**p) for p in header["pins"]]
    except TypeError as e:
        raise _bad(bundle, f"a pin of '{HEADER}' is malformed ({e})") from e
    if not set(recorded) <= set(lock.pins):
        raise IntegrityError(f"{bundle}: its header lists pins its lock does not", hint="export the bundle again")
    pins: dict[str, list[Pin]] = {}
    for pin in sorted(recorded):
        pins.setdefault(pin.sha256, []).append(pin)
    return lock_digest, pins


def _store_blob(stream: IO[bytes], sha256: str, pin: Pin, store: Store) -> int:
    """Verify one archive of the bundle and store it; 1 if the cache did not hold it yet."""
    part = store.temp_path(f"{sha256}.import")
    try:
        h = hashlib.sha256()
        with store.faults(), part.open("wb") as out:
            while chunk := stream.read(CHUNK):
                h.update(chunk)
                out.write(chunk)
        label = f"{pin.package} {pin.version} ({pin.platform}) in the bundle"
        with store.locked(sha256):
            if store.layout.has_blob(sha256) and digest.of_file(store.layout.blob(sha256)) == sha256:
                if h.hexdigest() != sha256:
                    store.commit_blob(part, sha256, h.hexdigest(), label)  # refuses, and says why
                return 0
            store.commit_blob(part, sha256, h.hexdigest(), label)
        return 1
    finally:
        part.unlink(missing_ok=True)
