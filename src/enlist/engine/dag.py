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
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from enlist.errors import GraphError
from enlist.model.action import Action
from enlist.model.project import Pass


@dataclass(frozen=True, slots=True)
class Dag:
    actions: tuple[Action, ...]
    index: dict[str, int]  # action id -> number
    producer: dict[str, int]  # output path -> number of the action writing it
    deps: tuple[tuple[int, ...], ...]  # number -> numbers it waits for (sorted)
    dependants: tuple[tuple[int, ...], ...]  # number -> numbers waiting for it (sorted)
    order: tuple[int, ...]  # a topological order: deps before dependants, plan order among equals


def build(actions: Sequence[Action]) -> Dag:
    index: dict[str, int] = {}
    producer: dict[str, int] = {}
    for i, action in enumerate(actions):
        if action.id in index:
            raise GraphError(f"two actions share the id '{action.id}'", hint="action ids must be unique")
        index[action.id] = i
        for out in action.outputs:
            other = producer.setdefault(out, i)
            if other != i:
                raise GraphError(
                    f"'{out}' is written by two actions: {actions[other].id} and {action.id}",
                    hint="each file has one producer; rename one of the outputs",
                )
    deps: list[tuple[int, ...]] = []
    for i, action in enumerate(actions):
        mine = {producer[p] for p in action.inputs if p in producer}
        for name in action.after:
            if name not in index:
                raise GraphError(f"action {action.id} runs after '{name}', which is no action of the plan")
            mine.add(index[name])
        mine.discard(i)
        deps.append(tuple(sorted(mine)))
    dependants: list[list[int]] = [[] for _ in actions]
    for i, ds in enumerate(deps):
        for d in ds:
            dependants[d].append(i)
    order = _topological(actions, deps, dependants)
    return Dag(tuple(actions), index, producer, tuple(deps), tuple(tuple(x) for x in dependants), order)


def _topological(
    actions: Sequence[Action], deps: Sequence[tuple[int, ...]], dependants: list[list[int]]
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
    if len(order) != len(actions):
        raise GraphError(
            "the actions form a cycle: " + " -> ".join(actions[i].id for i in _find_cycle(deps, waiting)),
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
    cycle = path[seen[node] :]
    return [*reversed(cycle), cycle[-1]]


def select(dag: Dag, projects: Collection[str] = (), max_pass: Pass | None = None) -> frozenset[int]:
    """The actions a build must consider: those of `projects` (directories, with everything below them; all
    when empty) up to `max_pass`, plus everything they need, whatever its project or pass."""
    prefixes = tuple(p.rstrip("/") + "/" for p in projects if p not in (".", ""))
    everything = not prefixes or len(prefixes) < len(projects)

    def wanted(a: Action) -> bool:
        if max_pass is not None and a.pass_ > max_pass:
            return False
        return everything or (a.project + "/").startswith(prefixes)

    chosen = {i for i, a in enumerate(dag.actions) if wanted(a)}
    stack = list(chosen)
    while stack:
        for d in dag.deps[stack.pop()]:
            if d not in chosen:
                chosen.add(d)
                stack.append(d)
    return frozenset(chosen)


def priorities(dag: Dag, cost: Sequence[float]) -> list[float]:
    """Critical-path priority: an action's cost plus the most expensive chain of dependants after it."""
    prio = [0.0] * len(dag.actions)
    for i in reversed(dag.order):
        tail = max((prio[j] for j in dag.dependants[i]), default=0.0)
        prio[i] = cost[i] + tail
    return prio
