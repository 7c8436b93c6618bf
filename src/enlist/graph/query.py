"""Questions about the project graph, answered with networkx (L1; import this module only when asking).

- `closure(graph, projects)`: the subgraph of those projects and everything they depend on;
- `why(graph, a, b)`: the shortest chain of edges that makes project `a` depend on project `b`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import networkx as nx

from enlist.graph.model import Edge, Node, ProjectGraph


def _nx(graph: ProjectGraph) -> Any:
    return graph.to_networkx()


def closure(graph: ProjectGraph, projects: Iterable[str]) -> ProjectGraph:
    wanted = set(projects)
    g = _nx(graph)
    keep: set[Node] = set()
    for node in graph.nodes:
        if node.project in wanted:
            keep.add(node)
            keep.update(nx.ancestors(g, node))
    return ProjectGraph(
        nodes=tuple(n for n in graph.nodes if n in keep),
        edges=tuple(e for e in graph.edges if e.before in keep and e.after in keep),
        order=tuple(p for p in graph.order if any(n.project == p for n in keep)),
    )


def why(graph: ProjectGraph, a: Iterable[str], b: Iterable[str]) -> list[Edge] | None:
    """The shortest chain of edges from a node of projects `b` to one of projects `a` (b's end first)."""
    g = _nx(graph)
    a_set, b_set = set(a), set(b)
    sources = [n for n in graph.nodes if n.project in b_set]
    targets = {n for n in graph.nodes if n.project in a_set and n.project not in b_set}
    best: list[Node] | None = None
    for source in sources:
        paths = nx.single_source_shortest_path(g, source)
        for target in sorted(targets):
            path = paths.get(target)
            if path is not None and (best is None or (len(path), path) < (len(best), best)):
                best = path
    if best is None:
        return None
    edges = {(e.before, e.after): e for e in graph.edges}
    return [edges[pair] for pair in itertools.pairwise(best)]
