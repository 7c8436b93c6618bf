"""Projects, graphs and diagnostics to and from plain JSON data, for the parsed-graph cache (L2).

Compact on purpose (a 1,000-project enlistment loads in milliseconds): every `Location` is `[file, line]`
where `file` indexes a shared table of file names, and dataclasses are positional lists in field order:

    Project     [dir, descriptor, target_name, target_type, target_location, obj_dir, sources, includes,
    defines,
                 c_flags, linker_flags, target_libs, publish, produces, consumes, tests, macros]
    SourceFile  [path, location, generator]          Item [value, location]
    Publish     [pass, src, dest, location]          TestProgram [program, [args...], location]
    Node        [project, pass, phony]    Edge [before node index, after node index, [reason...]]
    Reason      [kind, location|null, detail, producer|null]
    Diagnostic  [location, severity, message]
"""

from __future__ import annotations

from typing import Any

from enlist.errors import Location
from enlist.graph.model import Edge, EdgeKind, Node, ProjectGraph, Reason
from enlist.model.diagnostic import Diagnostic, Severity
from enlist.model.project import Item, Pass, Project, Publish, SourceFile, TargetType, TestProgram


class Encoder:
    def __init__(self) -> None:
        self.files: dict[str, int] = {}

    def loc(self, location: Location | None) -> list[int] | None:
        if location is None:
            return None
        index = self.files.setdefault(location.file, len(self.files))
        return [index, location.line]

    def items(self, items: tuple[Item, ...]) -> list[Any]:
        return [[i.value, self.loc(i.location)] for i in items]

    def project(self, p: Project) -> list[Any]:
        return [
            p.dir,
            p.descriptor,
            p.target_name,
            p.target_type.value,
            self.loc(p.target_location),
            p.obj_dir,
            [[s.path, self.loc(s.location), s.generator] for s in p.sources],
            self.items(p.includes),
            self.items(p.defines),
            self.items(p.c_flags),
            self.items(p.linker_flags),
            self.items(p.target_libs),
            [[int(x.pass_), x.src, x.dest, self.loc(x.location)] for x in p.publish],
            self.items(p.produces),
            self.items(p.consumes),
            [[t.program, list(t.args), self.loc(t.location)] for t in p.tests],
            [list(m) for m in p.macros],
        ]

    def graph(self, g: ProjectGraph) -> dict[str, Any]:
        index = {node: i for i, node in enumerate(g.nodes)}
        return {
            "nodes": [[n.project, int(n.pass_), int(n.phony)] for n in g.nodes],
            "edges": [
                [index[e.before], index[e.after], [self.reason(r) for r in e.reasons]] for e in g.edges
            ],
            "order": list(g.order),
        }

    def reason(self, r: Reason) -> list[Any]:
        return [r.kind.value, self.loc(r.location), r.detail, self.loc(r.producer)]

    def diagnostic(self, d: Diagnostic) -> list[Any]:
        return [self.loc(d.location), d.severity.value, d.message]


PASSES = tuple(Pass)
TARGET_TYPES = {t.value: t for t in TargetType}
EDGE_KINDS = {k.value: k for k in EdgeKind}
SEVERITIES = {s.value: s for s in Severity}


class Decoder:
    def __init__(self, files: list[str]) -> None:
        self.locations: dict[tuple[int, int], Location] = {}
        self.files = files

    def loc(self, data: list[int]) -> Location:
        key = (data[0], data[1])
        found = self.locations.get(key)
        if found is None:
            found = self.locations[key] = Location(self.files[data[0]], data[1])
        return found

    def opt_loc(self, data: list[int] | None) -> Location | None:
        return None if data is None else self.loc(data)

    def items(self, data: list[Any]) -> tuple[Item, ...]:
        return tuple(Item(v, self.loc(loc)) for v, loc in data)

    def project(self, d: list[Any]) -> Project:
        return Project(
            dir=d[0],
            descriptor=d[1],
            target_name=d[2],
            target_type=TARGET_TYPES[d[3]],
            target_location=self.loc(d[4]),
            obj_dir=d[5],
            sources=tuple(SourceFile(path, self.loc(loc), gen) for path, loc, gen in d[6]),
            includes=self.items(d[7]),
            defines=self.items(d[8]),
            c_flags=self.items(d[9]),
            linker_flags=self.items(d[10]),
            target_libs=self.items(d[11]),
            publish=tuple(Publish(PASSES[p], src, dest, self.loc(loc)) for p, src, dest, loc in d[12]),
            produces=self.items(d[13]),
            consumes=self.items(d[14]),
            tests=tuple(TestProgram(prog, tuple(args), self.loc(loc)) for prog, args, loc in d[15]),
            macros=tuple((name, value) for name, value in d[16]),
        )

    def graph(self, d: dict[str, Any]) -> ProjectGraph:
        nodes = tuple(Node(project, PASSES[p], bool(phony)) for project, p, phony in d["nodes"])
        edges = tuple(
            Edge(nodes[b], nodes[a], tuple(self.reason(r) for r in reasons)) for b, a, reasons in d["edges"]
        )
        return ProjectGraph(nodes, edges, tuple(d["order"]))

    def reason(self, r: list[Any]) -> Reason:
        return Reason(EDGE_KINDS[r[0]], self.opt_loc(r[1]), r[2], self.opt_loc(r[3]))

    def diagnostic(self, d: list[Any]) -> Diagnostic:
        return Diagnostic(self.loc(d[0]), SEVERITIES[d[1]], d[2])
