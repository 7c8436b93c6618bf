"""The project graph as text, Graphviz dot and JSON (L1, pure: returns strings).

Text (the default of `enlist graph`): one section per pass, its nodes in build order, and under each node the
other projects it waits for, with the first reason and its descriptor line:

    pass0
      projects/replica            LIBRARY replica  publishes public/chk-amd64/inc/replica.h
    pass1
      projects/tracker            LIBRARY tracker
        after projects/replica:pass0  INCLUDES public/chk-amd64/inc needs public/chk-amd64/inc/replica.h
                                      (projects/tracker/sources:6)

JSON (`--format json`, for scripts; keys sorted, stable between runs):

    {"config": "chk-amd64",
     "projects": [{"dir": ..., "target_name": ..., "target_type": ..., "target": ..., "passes": ["pass0",
     ...]}], "nodes": [{"id": "projects/replica:pass0", "project": "projects/replica", "pass": "pass0"}],
     "edges": [{"before": id, "after": id,
                "reasons": [{"kind": "published", "location": "file:line", "detail": ..., "producer":
                "file:line"}]}]}
"""

from __future__ import annotations

from collections.abc import Sequence

from enlist import canonical
from enlist.graph.cycles import reason_lines
from enlist.graph.model import Edge, EdgeKind, Node, ProjectGraph, Reason, passes_of, target_path
from enlist.model.project import Pass, Project


def text(graph: ProjectGraph, projects: Sequence[Project]) -> str:
    by_dir = {p.dir: p for p in projects}
    preds: dict[Node, list[Edge]] = {n: [] for n in graph.nodes}
    for edge in graph.edges:
        if edge.before.project != edge.after.project:
            preds[edge.after].append(edge)
    order = graph.topological_order()
    width = max((len(n.project) for n in graph.nodes), default=0) + 2
    lines: list[str] = []
    for pass_ in Pass:
        nodes = [n for n in order if n.pass_ is pass_]
        if not nodes:
            continue
        lines.append(pass_.label)
        for node in nodes:
            summary = _summary(by_dir[node.project], pass_) if node.project in by_dir else ""
            lines.append(f"  {node.project or '.':<{width}}{summary}".rstrip())
            for edge in preds[node]:
                reason = edge.reasons[0]
                more = f" (+{len(edge.reasons) - 1} more)" if len(edge.reasons) > 1 else ""
                lines.append(f"    after {edge.before}  {reason.detail}{more}")
                if reason.location:
                    lines.append(f"      ({reason.location})")
    return "\n".join(lines) + "\n"


def _summary(project: Project, pass_: Pass) -> str:
    parts: list[str] = []
    if pass_ is Pass.PASS0:
        generated = [s.path for s in project.sources if s.generator]
        if generated:
            parts.append("generates " + " ".join(generated))
    compiled = [s for s in project.sources if not s.generator]
    if pass_ is Pass.PASS1 and compiled:
        parts.append(f"compiles {len(compiled)} source{'s' if len(compiled) > 1 else ''}")
    target = target_path(project)
    if target and pass_ is (Pass.PASS1 if project.target_type.value == "LIBRARY" else Pass.PASS2):
        parts.append(f"{project.target_type.value} {target}")
    if pass_ is Pass.POSTBUILD and project.tests:
        parts.append("tests " + " ".join(t.program for t in project.tests))
    published = [p.dest for p in project.publish if p.pass_ is pass_]
    if published:
        parts.append("publishes " + " ".join(published))
    return "  ".join(parts)


def to_data(graph: ProjectGraph, projects: Sequence[Project], config: str) -> dict[str, object]:
    present = {n.project for n in graph.nodes}
    return {
        "config": config,
        "projects": [
            {
                "dir": p.dir,
                "target_name": p.target_name,
                "target_type": p.target_type.value,
                "target": target_path(p),
                "passes": [x.label for x in passes_of(p)],
            }
            for p in sorted(projects, key=lambda p: p.dir)
            if p.dir in present
        ],
        "nodes": [
            {"id": str(n), "project": n.project, "pass": n.pass_.label, "phony": n.phony} for n in graph.nodes
        ],
        "edges": [
            {"before": str(e.before), "after": str(e.after), "reasons": [_reason(r) for r in e.reasons]}
            for e in graph.edges
        ],
    }


def _reason(reason: Reason) -> dict[str, object]:
    return {
        "kind": reason.kind.value,
        "location": str(reason.location) if reason.location else None,
        "detail": reason.detail,
        "producer": str(reason.producer) if reason.producer else None,
    }


def json_text(graph: ProjectGraph, projects: Sequence[Project], config: str) -> str:
    """`to_data` as JSON with one record per line: as diffable as indented JSON, and ten times faster to
    write for a big graph (each record goes through the C encoder)."""
    data = to_data(graph, projects, config)
    parts: list[str] = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, list):
            records = ",\n".join("    " + canonical.dumps(item) for item in value)
            parts.append(f'  "{key}": [\n{records}\n  ]' if value else f'  "{key}": []')
        else:
            parts.append(f'  "{key}": {canonical.dumps(value)}')
    return "{\n" + ",\n".join(parts) + "\n}\n"


def dot(graph: ProjectGraph) -> str:
    lines = ["digraph enlist {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
    for pass_ in Pass:
        members = [n for n in graph.nodes if n.pass_ is pass_]
        if members:
            lines.append("  { rank=same; " + " ".join(_quote(str(n)) + ";" for n in members) + " }")
    for node in graph.nodes:
        label = f"{node.project or '.'}\\n{node.pass_.label}"
        lines.append(f"  {_quote(str(node))} [label={_quote(label)}];")
    for edge in graph.edges:
        kinds = sorted({r.kind.value for r in edge.reasons})
        style = " style=dashed" if kinds == [EdgeKind.PASS_ORDER.value] else ""
        lines.append(
            f"  {_quote(str(edge.before))} -> {_quote(str(edge.after))}"
            f" [label={_quote(','.join(kinds))}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def why_text(a: str, b: str, chain: list[Edge] | None) -> str:
    if chain is None:
        return f"{a} does not depend on {b}\n"
    lines = [f"{a} depends on {b}:"]
    for edge in reversed(chain):
        lines.append(f"  {edge.after} needs {edge.before}")
        for reason in edge.reasons:
            lines.extend(reason_lines(reason))
    return "\n".join(lines) + "\n"
