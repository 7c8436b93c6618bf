"""The plan's actions and the tree's records as tables of plain tuples, made objects only when used (L1).

A build with one edited source among 10,000 looks at every action's files but runs three actions. Building
12,000 `Action` and `Record` objects from the stored state would cost more than everything else such a build
does, so the tree's state keeps them as tuples (the *rows* below, which `marshal` loads at C speed), the
engine reads the few fields it needs for all actions from column tuples, and `ActionTable[i]` /
`RecordTable.get(id)` build an object on first use.

    action row: (id, kind, project, pass, argv, inputs, outputs, env, cwd, depfile, after, publish,
                 description)
    record row: (fingerprint, static key, full key, deps, output digests, seconds)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from enlist.engine.verdict import Record
from enlist.model.action import Action, ActionKind
from enlist.model.project import Pass

ActionRow = tuple[Any, ...]
RecordRow = tuple[str, str, str, tuple[str, ...], tuple[str, ...], float]
_KINDS = {k.value: k for k in ActionKind}
_PASSES = {int(p): p for p in Pass}


def action_row(a: Action) -> ActionRow:
    return (
        a.id, a.kind.value, a.project, int(a.pass_), a.argv, a.inputs, a.outputs, a.env, a.cwd, a.depfile,
        a.after, a.publish, a.description,
    )


def action_from_row(t: ActionRow) -> Action:
    return Action(
        id=t[0], kind=_KINDS[t[1]], project=t[2], pass_=_PASSES[t[3]], argv=tuple(t[4]), inputs=tuple(t[5]),
        outputs=tuple(t[6]), env=tuple(tuple(p) for p in t[7]), cwd=t[8], depfile=t[9], after=tuple(t[10]),
        publish=tuple(tuple(p) for p in t[11]), description=t[12],
    )


class ActionTable(Sequence[Action]):
    """Actions by number, with the columns the engine scans for all of them."""

    def __init__(self, rows: Sequence[ActionRow], actions: Sequence[Action] | None = None) -> None:
        self.rows = tuple(rows)
        self._objects: list[Action | None] = list(actions) if actions is not None else [None] * len(self.rows)
        self.ids: tuple[str, ...] = tuple(r[0] for r in self.rows)
        self.projects: tuple[str, ...] = tuple(r[2] for r in self.rows)
        self.passes: tuple[int, ...] = tuple(r[3] for r in self.rows)
        self.inputs: tuple[tuple[str, ...], ...] = tuple(r[5] for r in self.rows)
        self.outputs: tuple[tuple[str, ...], ...] = tuple(r[6] for r in self.rows)

    @classmethod
    def of(cls, actions: Iterable[Action]) -> ActionTable:
        objects = list(actions)
        return cls([action_row(a) for a in objects], objects)

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, i: int) -> Action: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Action]: ...

    def __getitem__(self, i: int | slice) -> Action | Sequence[Action]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        found = self._objects[i]
        if found is None:
            found = self._objects[i] = action_from_row(self.rows[i])
        return found

    def __iter__(self) -> Iterator[Action]:
        return (self[i] for i in range(len(self)))


class RecordTable(Mapping[str, Record]):
    """What the tree remembers per action id; `rows` is the stored form, `row(id)` a cheap look at one."""

    def __init__(self, rows: Mapping[str, RecordRow] | None = None) -> None:
        self.rows: dict[str, RecordRow] = dict(rows or {})
        self._objects: dict[str, Record] = {}

    @classmethod
    def of(cls, records: Mapping[str, Record]) -> RecordTable:
        return cls({k: record_row(r) for k, r in records.items()})

    def row(self, action_id: str) -> RecordRow | None:
        return self.rows.get(action_id)

    def __getitem__(self, action_id: str) -> Record:
        found = self._objects.get(action_id)
        if found is None:
            t = self.rows[action_id]
            found = self._objects[action_id] = Record(t[0], t[1], t[2], tuple(t[3]), tuple(t[4]), float(t[5]))
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def updated(self, ids: Iterable[str], new: Mapping[str, Record]) -> RecordTable:
        """The records of the actions `ids` (actions gone from the plan are forgotten), `new` replacing."""
        rows = self.rows
        kept = {i: rows[i] for i in ids if i in rows}
        kept.update((k, record_row(r)) for k, r in new.items())
        return RecordTable(kept)


def record_row(r: Record) -> RecordRow:
    return (r.fingerprint, r.static, r.key, tuple(sys.intern(d) for d in r.deps), r.outputs, r.seconds)
