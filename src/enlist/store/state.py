"""What a build tree remembers between builds (L2), under `out/<config>/.enlist/`.

    out/<config>/.enlist/plan     the last plan, checked and fingerprinted: rewritten only when it changes
    out/<config>/.enlist/state    the stat cache and each action's last successful run, as of its last rewrite
    out/<config>/.enlist/noop     the no-op check: written only after a build with nothing left to do
    out/<config>/.enlist/watch    the files the no-op check stats, and the actions that touch each
    out/<config>/.enlist/journal  what the builds since `state` was written changed in it
    out/<config>/.enlist/lock     held while a build runs (`enlist.store.lock`)
    out/<config>/.enlist/manifest-base.json   the manifest less what the build decides (`enlist.app.planning`)
    out/.enlist/default-config    (stat signature of buildconf/enlist.toml, default config, allowed variables)

The files are Python `marshal` data (builtin types only: it loads ten times faster than JSON, and a build
with little to do must not spend its budget parsing). They are caches: a file that is missing, truncated,
from another version of enlist or another Python reads as "no state", and the build recomputes everything
from contents. Each is written to a temporary file and renamed, except the journal, which is appended to
(its frames carry their own length and CRC); `state` names the plan it belongs to.
`plan` ends with the CRC-32 of the marshal data before it (4 bytes, little-endian; `state` checks its header
and each shard the same way, see below): the plan
holds the commands and their fingerprints, and a damaged byte that still unmarshals must not run another
command under the fingerprint (and cache keys) of the planned one. A file whose CRC does not match reads as
"no state".

`plan`: a dict
    format        "enlist-plan-5"
    id            a number naming this plan (`state` refers to it)
    request       PlanRequest.identity() the plan was made for
    config, roots (enlistment, packages), sources, warnings
    actions       the columns of `enlist.engine.table.ActionTable` (ids, projects, passes, kinds, inputs,
                  outputs, blobs; inputs and outputs packed as marshal bytes, decoded when first used)
    fingerprints  one `enlist.engine.keys.fingerprint` per action, aligned
    graph         (deps, dependants, order) of `enlist.engine.dag`, so a reused plan is not checked again

`state`: 4 bytes (little-endian) giving the header's length, the header (marshal), the header's CRC-32, then
the shard region. The header is a dict
    format        "enlist-state-6"
    plan          the id of the plan it belongs to
    generation    a number naming this base (the journal's frames refer to it)
    files         the shards of {path: 56 bytes: mtime_ns, size, inode (little-endian 64-bit), sha256}
                  (mtime -1: racy), as ((offset in the region, length, CRC-32), ...)
    records       the shards of {action id: record row (`enlist.engine.table`)}, the same way
Each shard is the marshal of about 64 entries, by a CRC of the key (`enlist.engine.table.ShardedMap`). The
region is mapped, not read, and a shard is decoded, and its CRC checked, when a key of it is first looked
up: a build after an edit reads a few shards of 21,000 entries. A damaged shard reads as empty, which is safe:
a file without an entry is hashed again, an action without a record is judged by its keys.

`journal`: what the builds since the base changed, so that a build which ran three actions among 10,000 appends
a few kilobytes instead of rewriting megabytes. A sequence of frames, each
    4 bytes length, 4 bytes CRC-32 (both little-endian), then marshal of
    (generation, plan id, {path: entry or None}, {action id: record row or None})
None removes. Loading applies the frames in order while they are whole, unbroken and of this base's generation;
the first one that is not (a build killed while appending) ends the journal, and the next build cuts it there
before appending. A build with a new plan, or a journal grown past half the base, rewrites the base under a new
generation and deletes the journal (a journal left by a kill in between names the old generation: ignored).

`noop`: a tuple (format "enlist-noop-3", enlist version, request, env names, watch id, byte order,
signatures, logs) where `request` is the build's identity (see `enlist.store.noop`), `signatures` the
(mtime_ns, size, inode) of each path of the watch file, packed as signed 64-bit integers in `byte order`, and
`logs` the {file name: text} that a no-op writes into `out/<config>/`.

`watch`: a tuple (format "enlist-watch-1", id, paths, readers): `paths` every file the last build depended on
(plan sources, inputs, discovered deps, outputs) and `readers` the reverse index from each path to the actions
that read, depend on or write it (`enlist.store.noop.Scan.touched`), so that a build after a small change
looks at those actions only. It is rewritten only when the paths or the actions change; the no-op record is
rewritten by every complete build, and names the watch file it goes with by its id.
"""

from __future__ import annotations

import contextlib
import errno
import marshal
import mmap
import os
import struct
import time
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from enlist.engine import dag as dagmod
from enlist.engine.table import ActionTable, Layered, RecordRow, RecordTable, ShardedMap, pack_shards
from enlist.errors import EnvironmentFault
from enlist.model.action import PathRoots
from enlist.store import noop

PLAN_FORMAT = "enlist-plan-5"
STATE_FORMAT = "enlist-state-6"
SHARD_ENTRIES = 64  # entries per shard of the stat cache and the records (see `ShardedMap`)
JOURNAL_MIN = 64 << 10  # bytes: a journal smaller than this is never compacted
_FRAME = struct.Struct("<II")  # length, CRC-32 of the marshal data that follows
MANIFEST_BASE = "manifest-base.json"


def state_dir(root: Path, config: str) -> Path:
    return root / "out" / config / ".enlist"


def manifest_path(root: Path, config: str) -> Path:
    """`out/<config>/manifest.json` (format in `enlist.manifest`)."""
    return root / "out" / config / "manifest.json"


class PlanState(NamedTuple):
    """A plan as the tree keeps it: the actions as a table, their fingerprints and the checked graph."""

    config: str
    dag: dagmod.Dag
    roots: PathRoots
    sources: tuple[str, ...]
    warnings: tuple[str, ...]
    fingerprints: tuple[str, ...]
    request: tuple[object, ...] = ()
    id: int = 0  # set when saved

    @property
    def actions(self) -> ActionTable:
        return self.dag.actions


class Journal(NamedTuple):
    """Where the next build may append: the base it extends and the bytes of journal that are valid."""

    generation: int
    base_bytes: int  # size of the `state` file
    valid_bytes: int  # the journal's whole frames of this generation; anything after them is cut


class TreeState(NamedTuple):
    plan: PlanState
    files: Mapping[str, bytes]  # may be lazy (`ShardedMap`)
    records: RecordTable
    journal: Journal | None = None  # set by `load`


Changes = tuple[dict[str, bytes | None], dict[str, RecordRow | None]]  # (files, records); None removes


def load(directory: Path) -> TreeState | None:
    plan = _load(directory / "plan", sealed=True)
    data, region, base_bytes = _load_state(directory / "state")
    if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
        return None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT or data.get("plan") != plan.get("id"):
        return None
    try:
        files_over: dict[str, bytes | None] = {}
        records_over: dict[str, RecordRow | None] = {}
        journal = _replay(directory / "journal", data["generation"], plan["id"], files_over, records_over)
        files: Mapping[str, bytes] = _sharded(region, data["files"])
        records: Mapping[str, RecordRow] = _sharded(region, data["records"])
        if files_over:
            files = Layered(files, files_over)
        if records_over:
            records = Layered(records, records_over)
        table = ActionTable(plan["actions"])
        fingerprints = tuple(plan["fingerprints"])
        if len(fingerprints) != len(table):
            return None
        enlistment, packages = plan["roots"]
        kept = PlanState(
            plan["config"],
            dagmod.restore(table, plan["graph"]),
            PathRoots(enlistment, tuple(packages)),
            tuple(plan["sources"]),
            tuple(plan["warnings"]),
            fingerprints,
            tuple(plan["request"]),
            plan["id"],
        )
        return TreeState(kept, files, RecordTable(records), Journal(data["generation"], base_bytes, journal))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None


def _sharded(region: memoryview, places: Any) -> ShardedMap[Any]:
    """The table whose shards are at `places` ((offset, length, CRC-32), ...) in the state's shard region."""
    shards, crcs = [], []
    for offset, length, crc in places:
        if offset < 0 or length < 0 or offset + length > len(region):
            raise ValueError("a shard lies outside the state file")
        shards.append(region[offset : offset + length])
        crcs.append(crc)
    return ShardedMap(shards, crcs)


def _load_state(path: Path) -> tuple[Any, memoryview, int]:
    """The state's header, its shard region (a view of the mapped file, which stays mapped while the shards
    are in use) and the file's size; (None, empty, 0) when it is missing or its header is damaged."""
    empty = memoryview(b"")
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < 8:
                return None, empty, 0
            view = memoryview(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ))
    except (OSError, ValueError):
        return None, empty, 0
    length = int.from_bytes(view[:4], "little")
    header = _decode(view[4 : 8 + length], sealed=True)  # the header and its CRC
    return (header, view[8 + length :], size) if header is not None else (None, empty, 0)


def _replay(
    path: Path, generation: int, plan_id: int, files: dict[str, bytes | None], records: dict[str, RecordRow | None]
) -> int:
    """Gather in `files` and `records` what the journal's valid frames change (None: removed); returns how
    many bytes of the journal are valid."""
    try:
        data = memoryview(path.read_bytes())
    except OSError:
        return 0
    at = 0
    while at + _FRAME.size <= len(data):
        size, crc = _FRAME.unpack_from(data, at)
        body = data[at + _FRAME.size : at + _FRAME.size + size]
        if len(body) != size or zlib.crc32(body) != crc:
            break
        try:
            frame = marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            break
        if not isinstance(frame, tuple) or len(frame) != 4 or frame[:2] != (generation, plan_id):
            break
        files.update(frame[2])
        records.update(frame[3])
        at += _FRAME.size + size
    return at


def save_plan(directory: Path, plan: PlanState) -> PlanState:
    """Write the plan; returns it with the id the state will refer to."""
    saved = PlanState(
        plan.config,
        plan.dag,
        plan.roots,
        plan.sources,
        plan.warnings,
        plan.fingerprints,
        plan.request,
        time.time_ns(),
    )
    data = {
        "format": PLAN_FORMAT,
        "id": saved.id,
        "request": saved.request,
        "config": saved.config,
        "roots": (saved.roots.enlistment, saved.roots.packages),
        "sources": saved.sources,
        "warnings": saved.warnings,
        "actions": saved.actions.columns(packed=True),
        "fingerprints": saved.fingerprints,
        "graph": saved.dag.saved(),
    }
    write_atomic(directory / "plan", _seal(marshal.dumps(data)))
    return saved


def save(directory: Path, state: TreeState) -> None:
    """Rewrite the base under a new generation and delete the journal."""
    records = state.records.only(state.plan.actions.ids)
    region: list[bytes] = []
    at = 0

    def place(shards: tuple[bytes, ...]) -> tuple[tuple[int, int, int], ...]:
        nonlocal at
        places = []
        for shard in shards:
            places.append((at, len(shard), zlib.crc32(shard)))
            region.append(shard)
            at += len(shard)
        return tuple(places)

    header = marshal.dumps(
        {
            "format": STATE_FORMAT,
            "plan": state.plan.id,
            "generation": time.time_ns(),
            "files": place(pack_shards(state.files, _shard_count(len(state.files)))),
            "records": place(pack_shards(records, _shard_count(len(records)))),
        }
    )
    prefix = len(header).to_bytes(4, "little") + _seal(header)
    write_atomic(directory / "state", b"".join([prefix, *region]))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(directory / "journal")


def _shard_count(entries: int) -> int:
    return max(1, min(1024, entries // SHARD_ENTRIES))


def append(directory: Path, plan: PlanState, after: Journal, changes: Changes) -> bool:
    """Append to the journal what changed since the state loaded with `after` (of the same plan). False
    when the journal has grown past half the base: then `save` the whole state instead (compaction)."""
    files, records = changes
    body = marshal.dumps((after.generation, plan.id, files, records))
    frame = _FRAME.pack(len(body), zlib.crc32(body)) + body
    if after.valid_bytes + len(frame) > max(JOURNAL_MIN, after.base_bytes // 2):
        return False  # loading a long journal would cost more than rewriting the base once
    path = directory / "journal"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, after.valid_bytes)  # drop what a killed build half-appended
            os.lseek(fd, after.valid_bytes, os.SEEK_SET)
            if os.write(fd, frame) != len(frame):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        finally:
            os.close(fd)
    except OSError as e:
        raise EnvironmentFault(
            f"cannot write {path}: {e.strerror}", hint="free some space or fix the permissions of out/"
        ) from e
    return True


def changed_rows(before: RecordTable, after: RecordTable) -> dict[str, RecordRow | None]:
    """The record rows `after` adds, replaces (a new row object) or removes compared with `before`."""
    if after.base is before:
        return after.changes  # `after` was made from `before` (`RecordTable.updated`), which kept the list
    old, new = before.rows, after.rows
    changes: dict[str, RecordRow | None] = {k: v for k, v in new.items() if old.get(k) is not v}
    changes.update((k, None) for k in old.keys() - new.keys())
    return changes


def save_noop(directory: Path, body: tuple[Any, ...], watch: noop.Watch | None = None) -> None:
    """Write the no-op record, and first the watch file it names when that changed."""
    if watch is not None:
        write_atomic(directory / "watch", marshal.dumps((noop.WATCH_FORMAT, *watch)))
    write_atomic(directory / "noop", marshal.dumps((noop.NOOP_FORMAT, *body)))


def forget_noop(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(directory / "noop")


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise EnvironmentFault(
            f"cannot write {path}: {e.strerror}", hint="free some space or fix the permissions of out/"
        ) from e


def _seal(data: bytes) -> bytes:
    return data + zlib.crc32(data).to_bytes(4, "little")


def _load(path: Path, *, sealed: bool = False) -> Any:
    """A file's contents. The file is mapped, not read: a fresh process reading 10 MB pays more to fault in
    the buffer than to decode it, and marshal copies what it keeps. Files here are only ever replaced by a
    rename, never rewritten in place, so the mapping stays valid while it is read."""
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return None
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    try:
        with memoryview(mapped) as view:
            return _decode(view, sealed=sealed)
    finally:
        mapped.close()


def _decode(data: memoryview, *, sealed: bool) -> Any:
    try:
        if sealed:
            data, crc = data[:-4], data[-4:]
            if len(crc) != 4 or zlib.crc32(data).to_bytes(4, "little") != crc:
                return None
        return marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
