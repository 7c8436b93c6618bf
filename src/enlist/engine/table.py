"""The plan's actions and the tree's records as compact tables, made objects only when used (L1).

A build with one edited source among 10,000 looks at every action's files but runs three actions. Building
12,000 `Action` and `Record` objects from the stored state would cost more than everything else such a build
does. So the tables keep, for every action, only the columns the engine scans for all of them (id, project,
pass, kind, inputs, outputs; a record's fingerprint and discovered deps) and the rest as one `marshal` blob
per action, which `ActionTable[i]` and `RecordTable[id]` decode on first use. Path strings are interned, so a
path that is one action's output and another's input is one object, stored once.

    action blob: marshal of (id, kind, project, pass, argv, inputs, outputs, env, cwd, depfile, after,
                 publish, description, stdout)
    (the inputs and outputs columns may be kept as marshal bytes too, until used)
    record row:  (fingerprint, deps, marshal of (static key, full key, output digests, seconds))

Pure: `marshal` here is an in-memory encoding (it is also what `enlist.store.state` writes).
"""

from __future__ import annotations

import marshal
import sys
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, overload

from enlist.engine.verdict import Record
from enlist.model.action import Action, ActionKind
from enlist.model.passes import Pass

RecordRow = tuple[str, tuple[str, ...], bytes]
_KINDS = {k.value: k for k in ActionKind}
_PASSES = {int(p): p for p in Pass}
COLUMNS = ("ids", "projects", "passes", "kinds", "inputs", "outputs", "blobs")


def _column(given: Any) -> tuple[tuple[str, ...], ...] | bytes:
    return given if isinstance(given, bytes) else tuple(given)


def _paths(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(sys.intern(p) for p in paths)


def action_blob(a: Action) -> bytes:
    row = (
        a.id,
        a.kind.value,
        a.project,
        int(a.pass_),
        a.argv,
        a.inputs,
        a.outputs,
        a.env,
        a.cwd,
        a.depfile,
        a.after,
        a.publish,
        a.description,
        a.stdout,
    )
    return marshal.dumps(row)


def action_from_blob(blob: bytes) -> Action:
    t = marshal.loads(blob)
    return Action(
        id=t[0],
        kind=_KINDS[t[1]],
        project=t[2],
        pass_=_PASSES[t[3]],
        argv=tuple(t[4]),
        inputs=_paths(t[5]),
        outputs=_paths(t[6]),
        env=tuple(tuple(p) for p in t[7]),
        cwd=t[8],
        depfile=t[9],
        after=tuple(t[10]),
        publish=tuple(tuple(p) for p in t[11]),
        description=t[12],
        stdout=t[13],
    )


class ActionTable(Sequence[Action]):
    """Actions by number, with the columns the engine scans for all of them.

    The `inputs` and `outputs` columns may be given as the `marshal` bytes of the column (`columns(packed=True)`
    writes them so): they are then decoded on first use. A build after a small change looks at a few actions
    (`table[i]`) and never pays for 20,000 tuples of paths."""

    def __init__(self, columns: Mapping[str, Any], objects: Sequence[Action] | None = None) -> None:
        self.ids: tuple[str, ...] = tuple(columns["ids"])
        self.projects: tuple[str, ...] = tuple(columns["projects"])
        self.passes: tuple[int, ...] = tuple(columns["passes"])
        self.kinds: tuple[str, ...] = tuple(columns["kinds"])
        self._inputs: tuple[tuple[str, ...], ...] | bytes = _column(columns["inputs"])
        self._outputs: tuple[tuple[str, ...], ...] | bytes = _column(columns["outputs"])
        self.blobs: tuple[bytes, ...] = tuple(columns["blobs"])
        if not all(len(getattr(self, c)) == len(self.ids) for c in ("projects", "passes", "kinds", "blobs")):
            raise ValueError("the columns of an action table differ in length")
        self._objects: list[Action | None] = list(objects) if objects is not None else [None] * len(self.ids)

    @property
    def inputs(self) -> tuple[tuple[str, ...], ...]:
        if isinstance(self._inputs, bytes):
            self._inputs = self._unpack(self._inputs)
        return self._inputs

    @property
    def outputs(self) -> tuple[tuple[str, ...], ...]:
        if isinstance(self._outputs, bytes):
            self._outputs = self._unpack(self._outputs)
        return self._outputs

    def _unpack(self, data: bytes) -> tuple[tuple[str, ...], ...]:
        column = marshal.loads(data)
        if not isinstance(column, tuple) or len(column) != len(self.ids):
            raise ValueError("the columns of an action table differ in length")
        return column

    @classmethod
    def of(cls, actions: Iterable[Action]) -> ActionTable:
        objects = list(actions)
        columns: dict[str, Sequence[Any]] = {
            "ids": [a.id for a in objects],
            "projects": [sys.intern(a.project) for a in objects],
            "passes": [int(a.pass_) for a in objects],
            "kinds": [a.kind.value for a in objects],
            "inputs": [_paths(a.inputs) for a in objects],
            "outputs": [_paths(a.outputs) for a in objects],
            "blobs": [action_blob(a) for a in objects],
        }
        return cls(columns, objects)

    def columns(self, *, packed: bool = False) -> dict[str, Any]:
        """The table as plain data; with `packed`, the path columns as `marshal` bytes (decoded lazily)."""
        found: dict[str, Any] = {c: getattr(self, c) for c in COLUMNS}
        if packed:
            for c in ("inputs", "outputs"):
                found[c] = marshal.dumps(found[c])
        return found

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> Action: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Action]: ...

    def __getitem__(self, i: int | slice) -> Action | Sequence[Action]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        found = self._objects[i]
        if found is None:
            found = self._objects[i] = action_from_blob(self.blobs[i])
        return found

    def __iter__(self) -> Iterator[Action]:
        return (self[i] for i in range(len(self)))


V = TypeVar("V")


def shard_of(key: str, shards: int) -> int:
    """A key's shard: stable across processes (`hash` of a str is not)."""
    return zlib.crc32(key.encode("utf-8", "surrogateescape")) % shards


def pack_shards(mapping: Mapping[str, Any], count: int) -> tuple[bytes, ...]:
    """`mapping` as `count` marshal blobs, by `shard_of` (for `ShardedMap`)."""
    parts: list[dict[str, Any]] = [{} for _ in range(max(1, count))]
    for key, value in mapping.items():
        parts[shard_of(key, len(parts))][key] = value
    return tuple(marshal.dumps(part) for part in parts)


class ShardedMap(Mapping[str, V]):
    """A read-only mapping kept as marshal blobs, each decoded when a key of it is first asked for. A build after
    a small change looks up a few dozen of the stat cache's 20,000 entries and a few of 10,000 records: it
    decodes a few shards, not the whole table."""

    def __init__(self, shards: Sequence[bytes | memoryview], crcs: Sequence[int] | None = None) -> None:
        self._shards = tuple(shards)
        self._crcs = tuple(crcs) if crcs is not None else None  # CRC-32 of each shard, checked when decoded
        self._parts: list[dict[str, V] | None] = [None] * len(self._shards)

    def _part(self, index: int) -> dict[str, V]:
        part = self._parts[index]
        if part is None:
            data = self._shards[index]
            try:
                if self._crcs is not None and zlib.crc32(data) != self._crcs[index]:
                    raise ValueError("damaged")
                part = marshal.loads(data)
                if not isinstance(part, dict):
                    raise ValueError("not a mapping")
            except (EOFError, ValueError, TypeError):
                part = {}  # a damaged shard holds nothing: what the table caches is worked out again
            self._parts[index] = part
        return part

    def _of(self, key: str) -> dict[str, V]:
        return self._part(shard_of(key, len(self._shards))) if self._shards else {}

    def __getitem__(self, key: str) -> V:
        return self._of(key)[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._of(key).get(key, default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._of(key)

    def __iter__(self) -> Iterator[str]:
        for index in range(len(self._shards)):
            yield from self._part(index)

    def __len__(self) -> int:
        return sum(len(self._part(index)) for index in range(len(self._shards)))

    def items(self) -> Iterator[tuple[str, V]]:  # type: ignore[override]  # one pass, no lookups
        for index in range(len(self._shards)):
            yield from self._part(index).items()


class Layered(Mapping[str, V]):
    """`base` with `over` on top: a key `over` maps to None is gone. The tree's state as loaded (the base and
    its journal), and a build's records (last build's and this one's), without copying the base."""

    def __init__(self, base: Mapping[str, V], over: Mapping[str, V | None]) -> None:
        self.base = base
        self.over = over

    def __getitem__(self, key: str) -> V:
        if key in self.over:
            value = self.over[key]
            if value is None:
                raise KeyError(key)
            return value
        return self.base[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.over:
            value = self.over[key]
            return default if value is None else value
        return self.base.get(key, default)

    def __contains__(self, key: object) -> bool:
        if key in self.over:
            return self.over[key] is not None  # type: ignore[index]
        return key in self.base

    def __iter__(self) -> Iterator[str]:
        over = self.over
        yield from (key for key in self.base if key not in over)
        yield from (key for key, value in over.items() if value is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def items(self) -> Iterator[tuple[str, V]]:  # type: ignore[override]  # one pass, no lookups
        over = self.over
        yield from ((key, value) for key, value in self.base.items() if key not in over)
        yield from ((key, value) for key, value in over.items() if value is not None)


class RecordTable(Mapping[str, Record]):
    """What the tree remembers per action id: `row(id)` is a cheap look, `[id]` the whole record."""

    def __init__(self, rows: Mapping[str, RecordRow] | None = None) -> None:
        self.rows: Mapping[str, RecordRow] = rows if rows is not None else {}  # not copied: may be lazy
        self._objects: dict[str, Record] = {}
        self.base: RecordTable | None = None  # set by `updated`: the table this one was made from...
        self.changes: dict[str, RecordRow | None] = {}  # ...and its rows that differ (None: forgotten)

    @classmethod
    def of(cls, records: Mapping[str, Record]) -> RecordTable:
        return cls({k: record_row(r) for k, r in records.items()})

    def row(self, action_id: str) -> RecordRow | None:
        return self.rows.get(action_id)

    def __getitem__(self, action_id: str) -> Record:
        found = self._objects.get(action_id)
        if found is None:
            fingerprint, deps, blob = self.rows[action_id]
            static, key, outputs, seconds = marshal.loads(blob)
            found = Record(fingerprint, static, key, tuple(deps), tuple(outputs), float(seconds))
            self._objects[action_id] = found
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def updated(self, new: Mapping[str, Record]) -> RecordTable:
        """These records with `new` replacing (or adding) some: nothing is copied. Records of actions that
        left the plan stay until the state is saved whole (`only`)."""
        fresh = {k: record_row(r) for k, r in new.items()}
        table = RecordTable(Layered(self.rows, fresh) if fresh else self.rows)
        table._objects.update(new)
        table.base, table.changes = self, dict(fresh)
        return table

    def only(self, ids: Iterable[str]) -> dict[str, RecordRow]:
        """The rows of the actions `ids` as one plain dict: what a whole state keeps."""
        wanted = set(ids)
        return {i: row for i, row in self.rows.items() if i in wanted}


def record_row(r: Record) -> RecordRow:
    blob = marshal.dumps((r.static, r.key, r.outputs, r.seconds))
    return (r.fingerprint, _paths(r.deps), blob)
