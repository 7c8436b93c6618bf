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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

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


class RecordTable(Mapping[str, Record]):
    """What the tree remembers per action id: `row(id)` is a cheap look, `[id]` the whole record."""

    def __init__(self, rows: Mapping[str, RecordRow] | None = None) -> None:
        self.rows: dict[str, RecordRow] = dict(rows or {})
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

    def updated(self, ids: Iterable[str], new: Mapping[str, Record]) -> RecordTable:
        """The records of the actions `ids` (actions gone from the plan are forgotten), `new` replacing."""
        rows = self.rows
        ids = ids if isinstance(ids, (tuple, list)) else tuple(ids)
        fresh = {k: record_row(r) for k, r in new.items()}
        changes: dict[str, RecordRow | None] = dict(fresh)
        if len(rows) == len(ids) and all(map(rows.__contains__, ids)):
            kept = dict(rows)  # the same plan: nothing to forget (the common case, and a quick one)
        else:
            kept = {i: rows[i] for i in ids if i in rows}
            changes.update((k, None) for k in rows.keys() - kept.keys() - fresh.keys())
        kept.update(fresh)
        table = RecordTable()
        table.rows = kept
        table._objects.update(new)
        table.base, table.changes = self, changes
        return table


def record_row(r: Record) -> RecordRow:
    blob = marshal.dumps((r.static, r.key, r.outputs, r.seconds))
    return (r.fingerprint, _paths(r.deps), blob)
