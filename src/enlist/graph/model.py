"""The project graph as plain data (L1, pure; no networkx, so the engine and the no-op path can use it
freely).

Nodes are (project, pass) for the passes in which a project has work (`passes_of`); an edge `before -> after`
means `after` may start only when `before` has finished. Every edge keeps the reasons that make it, each with
the descriptor line to blame, so a cycle or a `--why` answer can quote them.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Iterator
from dataclasses import dataclass

from enlist.errors import Location
from enlist.model.project import Pass, Project, TargetType


@dataclass(frozen=True, slots=True, order=True)
class Node:
    """(project, pass); or, with `phony`, a node without work that gathers every publisher under the public
    directory `project` (its pass is the last of theirs), so that N consumers of a directory that M projects
    publish into make N + M edges instead of N x M."""

    project: str  # Project.dir, or the public directory of a phony node
    pass_: Pass
    phony: bool = False

    def __str__(self) -> str:
        return f"{self.project}/*" if self.phony else f"{self.project or '.'}:{self.pass_.label}"


class EdgeKind(enum.Enum):
    PASS_ORDER = "pass-order"  # a project's passes run in order
    PUBLISHED = "published"  # consumes a path under $(PUBLIC_ROOT) that `before` publishes
    OBJ = "obj"  # names a file in another project's $(O)
    TAG = "tag"  # BUILD_CONSUMES a tag that `before` BUILD_PRODUCES


@dataclass(frozen=True, slots=True)
class Reason:
    kind: EdgeKind
    location: Location | None = (
        None  # the consumer's line (INCLUDES entry, TARGETLIBS entry, BUILD_CONSUMES, ...)
    )
    detail: str = (
        ""  # one line for people: "INCLUDES public/chk-amd64/inc needs public/chk-amd64/inc/replica.h"
    )
    producer: Location | None = None  # the producer's line (the publish pair, the target, BUILD_PRODUCES)

    @property
    def key(self) -> tuple[str, Location, str]:
        return (self.kind.value, self.location or Location(""), self.detail)


@dataclass(frozen=True, slots=True)
class Edge:
    before: Node
    after: Node
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class ProjectGraph:
    nodes: tuple[Node, ...]  # sorted
    edges: tuple[Edge, ...]  # sorted by (before, after)
    order: tuple[str, ...] = ()  # project dirs in dirs-walk order: the tie-break for scheduling

    def project_nodes(self) -> tuple[Node, ...]:
        """The nodes that have work (every node but the phony ones)."""
        return tuple(n for n in self.nodes if not n.phony)

    def predecessors(self) -> dict[Node, list[Node]]:
        result: dict[Node, list[Node]] = {node: [] for node in self.nodes}
        for edge in self.edges:
            result[edge.after].append(edge.before)
        return result

    def successors(self) -> dict[Node, list[Node]]:
        result: dict[Node, list[Node]] = {node: [] for node in self.nodes}
        for edge in self.edges:
            result[edge.before].append(edge.after)
        return result

    def edge(self, before: Node, after: Node) -> Edge | None:
        return next((e for e in self.edges if e.before == before and e.after == after), None)

    def topological_order(self) -> list[Node]:
        """Nodes, each after its predecessors; ties go by pass, then dirs-walk order (Kahn's algorithm)."""
        rank = {project: i for i, project in enumerate(self.order)}
        indegree = {node: 0 for node in self.nodes}
        successors = self.successors()
        for edge in self.edges:
            indegree[edge.after] += 1

        def key(node: Node) -> tuple[int, int, str]:
            return (int(node.pass_), rank.get(node.project, len(rank)), node.project)

        ready = [(key(n), n) for n, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        result: list[Node] = []
        while ready:
            _, node = heapq.heappop(ready)
            result.append(node)
            for after in successors[node]:
                indegree[after] -= 1
                if indegree[after] == 0:
                    heapq.heappush(ready, (key(after), after))
        return result

    def to_networkx(self) -> object:
        """A `networkx.DiGraph` of the same nodes and edges (edge attribute `reasons`); imports networkx."""
        import networkx as nx

        graph = nx.DiGraph()
        for node in self.nodes:
            graph.add_node(node, project=node.project, pass_=node.pass_, phony=node.phony)
        for edge in self.edges:
            graph.add_edge(edge.before, edge.after, reasons=edge.reasons)
        return graph


def passes_of(project: Project) -> tuple[Pass, ...]:
    """The passes in which `project` has work; a project with none still gets its pass1 node."""
    found: set[Pass] = {p.pass_ for p in project.publish}
    if any(s.generator for s in project.sources):
        found.add(Pass.PASS0)
    if project.sources or project.target_type is not TargetType.NOTARGET:
        found.add(Pass.PASS1)
    if project.target_type in (TargetType.PROGRAM, TargetType.DYNLINK):
        found.add(Pass.PASS2)
    if project.tests:
        found.add(Pass.POSTBUILD)
    return tuple(sorted(found)) or (Pass.PASS1,)


def target_path(project: Project) -> str | None:
    """The enlistment-relative file the target builds in $(O), or None for NOTARGET."""
    name = project.target_name
    if name is None:
        return None
    files = {
        TargetType.LIBRARY: f"lib{name}.a",
        TargetType.DYNLINK: f"lib{name}.so",
        TargetType.PROGRAM: name,
    }
    file = files.get(project.target_type)
    return f"{project.obj_dir}/{file}" if file else None


def target_pass(project: Project) -> Pass:
    return Pass.PASS1 if project.target_type is TargetType.LIBRARY else Pass.PASS2


def iter_reasons(edges: tuple[Edge, ...]) -> Iterator[tuple[Edge, Reason]]:
    for edge in edges:
        for reason in edge.reasons:
            yield edge, reason
