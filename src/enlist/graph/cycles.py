"""Cycles in the project graph, reported as the chain of nodes with the lines that make each edge (L1, pure).

    projects/a/sources:4: dependency cycle: projects/a:pass1 -> projects/b:pass1 -> projects/a:pass1
      projects/a:pass1 needs projects/b:pass1
        projects/a/sources:4: INCLUDES public/chk-amd64/inc/b needs public/chk-amd64/inc/b/b.h
        projects/b/sources:7: (the other end)
      projects/b:pass1 needs projects/a:pass1
        ...
      hint: one of these edges must go: ...

The search is deterministic (nodes and neighbours in sorted order) so the same enlistment always reports the
same cycle, rotated to start at its smallest node.
"""

from __future__ import annotations

import itertools

from enlist.errors import GraphError
from enlist.graph.model import EdgeKind, Node, ProjectGraph, Reason


def find_cycle(graph: ProjectGraph) -> list[Node] | None:
    """A cycle as [n0, n1, ..., n0] where each node needs the next one, or None."""
    needs = {node: sorted(before) for node, before in graph.predecessors().items()}
    state: dict[Node, int] = {}  # 1: on the current path, 2: done
    for start in graph.nodes:
        if state.get(start):
            continue
        path: list[Node] = [start]
        iterators = [iter(needs[start])]
        state[start] = 1
        while iterators:
            nxt = next(iterators[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iterators.pop()
                continue
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                return _rotate(cycle)
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iterators.append(iter(needs[nxt]))
    return None


def _rotate(cycle: list[Node]) -> list[Node]:
    i = cycle.index(min(cycle))
    rotated = cycle[i:] + cycle[:i]
    return [*rotated, rotated[0]]


def check_acyclic(graph: ProjectGraph) -> None:
    cycle = find_cycle(graph)
    if cycle is None:
        return
    lines: list[str] = []
    first_location = None
    for consumer, producer in itertools.pairwise(cycle):
        edge = graph.edge(producer, consumer)
        assert edge is not None
        lines.append(f"  {consumer} needs {producer}")
        for reason in edge.reasons:
            lines.extend(reason_lines(reason))
            first_location = first_location or reason.location
    chain = " -> ".join(str(n) for n in cycle)
    raise GraphError(
        f"dependency cycle: {chain}\n" + "\n".join(lines),
        location=first_location,
        hint="remove one of these edges: move what is shared to an earlier pass, or into another project",
    )


def reason_lines(reason: Reason) -> list[str]:
    """A reason as indented lines: the consumer's line, then the producer's."""
    if reason.kind is EdgeKind.PASS_ORDER:
        return ["    (a project's passes run in order)"]
    lines = [f"    {reason.location}: {reason.detail}" if reason.location else f"    {reason.detail}"]
    if reason.producer is not None:
        lines.append(f"    {reason.producer}: {_producer_words(reason.kind)}")
    return lines


def _producer_words(kind: EdgeKind) -> str:
    return {
        EdgeKind.PUBLISHED: "published here",
        EdgeKind.OBJ: "built here",
        EdgeKind.TAG: "BUILD_PRODUCES here",
    }.get(kind, "")
