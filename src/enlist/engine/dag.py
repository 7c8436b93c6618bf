"""The action graph: who must finish before whom (L1).

An action depends on the action that produces each of its declared inputs, and on every action named in its
`after` (order-only: it waits, but their outputs are not in its key). Actions are numbered in plan order and
the graph is kept as integer adjacency lists, because a plan of 10,000 sources has ~12,000 actions and this
runs on every build that has anything to do.

Errors are the planner's (or the descriptors') fault, so they are `GraphError`s (exit code 2): two actions
writing one file, an `after` naming no action, duplicate ids, a cycle (printed as a chain of action ids).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

from enlist.engine.table import ActionTable
from enlist.errors import GraphError
from enlist.model.passes import Pass


class Dag(NamedTuple):
    actions: ActionTable
    index: dict[str, int]  # type: ignore[assignment]  # action id -> number (shadows tuple.index, unused)
    deps: tuple[tuple[int, ...], ...]  # number -> numbers it waits for (sorted)
    dependants: tuple[tuple[int, ...], ...]  # number -> numbers waiting for it (sorted)
    order: tuple[int, ...]  # a topological order: deps before dependants, plan order among equals

    def saved(self) -> tuple[tuple[Any, ...], ...]:
        """What `restore` needs to skip checking the plan again (it was checked when it was made)."""
        return self.deps, self.dependants, self.order


def build(table: ActionTable) -> Dag:
    index: dict[str, int] = {}
    producer: dict[str, int] = {}
    for i, action_id in enumerate(table.ids):
        if action_id in index:
            raise GraphError(f"two actions share the id '{action_id}'", hint="action ids must be unique")
        index[action_id] = i
        for out in table.outputs[i]:
            other = producer.setdefault(out, i)
            if other != i:
                raise GraphError(
                    f"'{out}' is written by two actions: {table.ids[other]} and {action_id}",
                    hint="each file has one producer; rename one of the outputs",
                )
    deps: list[tuple[int, ...]] = []
    for i in range(len(table)):
        mine = {producer[p] for p in table.inputs[i] if p in producer}
        for name in table[i].after:
            if name not in index:
                raise GraphError(f"action {table.ids[i]} runs after '{name}', which is no action of the plan")
            mine.add(index[name])
        mine.discard(i)
        deps.append(tuple(sorted(mine)))
    dependants = _dependants(deps)
    order = _topological(table.ids, deps, dependants)
    return Dag(table, index, tuple(deps), dependants, order)


def restore(table: ActionTable, saved: tuple[Any, ...]) -> Dag:
    deps, dependants, order = (tuple(x) for x in saved)
    if not len(deps) == len(dependants) == len(order) == len(table):
        raise ValueError("the saved graph does not match the plan")
    index = dict(zip(table.ids, range(len(table)), strict=True))
    return Dag(table, index, deps, dependants, order)


def _dependants(deps: Sequence[tuple[int, ...]]) -> tuple[tuple[int, ...], ...]:
    dependants: list[list[int]] = [[] for _ in deps]
    for i, ds in enumerate(deps):
        for d in ds:
            dependants[d].append(i)
    return tuple(tuple(x) for x in dependants)


def _topological(
    ids: Sequence[str], deps: Sequence[tuple[int, ...]], dependants: Sequence[tuple[int, ...]]
) -> tuple[int, ...]:
    waiting = [len(ds) for ds in deps]
    ready = [i for i, n in enumerate(waiting) if n == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in dependants[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(order) != len(ids):
        raise GraphError(
            "the actions form a cycle: " + " -> ".join(ids[i] for i in _find_cycle(deps, waiting)),
            hint="an action consumes (directly or through others) a file it produces",
        )
    return tuple(order)


def _find_cycle(deps: Sequence[tuple[int, ...]], waiting: list[int]) -> list[int]:
    """Some cycle among the actions left unordered, first action repeated at the end."""
    stuck = {i for i, n in enumerate(waiting) if n > 0}
    start = min(stuck)
    path: list[int] = []
    seen: dict[int, int] = {}
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(d for d in deps[node] if d in stuck)
    chain = path[seen[node] :][::-1]  # producer before consumer
    first = chain.index(min(chain))
    chain = chain[first:] + chain[:first]  # start with the first in plan order: the same cycle, the same text
    return [*chain, chain[0]]


def select(dag: Dag, projects: Collection[str] = (), max_pass: Pass | None = None) -> frozenset[int]:
    """The actions a build must consider: those of `projects` (directories, with everything below them; all
    when empty) up to `max_pass`, plus everything they need, whatever its project or pass."""
    prefixes = tuple(p.rstrip("/") + "/" for p in projects if p not in (".", ""))
    everything = not prefixes or len(prefixes) < len(projects)
    table = dag.actions
    if everything and max_pass is None:
        return frozenset(range(len(table)))
    limit = int(max_pass) if max_pass is not None else len(Pass)
    chosen = {
        i
        for i, (project, pass_) in enumerate(zip(table.projects, table.passes, strict=True))
        if pass_ <= limit and (everything or (project + "/").startswith(prefixes))
    }
    stack = list(chosen)
    while stack:
        for d in dag.deps[stack.pop()]:
            if d not in chosen:
                chosen.add(d)
                stack.append(d)
    return frozenset(chosen)


def priorities(dag: Dag, cost: Callable[[int], float], among: Collection[int] | None = None) -> list[float]:
    """Critical-path priority: an action's cost plus the most expensive chain of dependants after it. With
    `among`, only those actions count (the others are done and cost nothing)."""
    prio = [0.0] * len(dag.actions)
    for i in reversed(dag.order):
        if among is None or i in among:
            tail = max((prio[j] for j in dag.dependants[i]), default=0.0)
            prio[i] = cost(i) + tail
    return prio
