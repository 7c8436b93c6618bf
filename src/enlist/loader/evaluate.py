"""The cold path of `load`: walk and evaluate the descriptors from disk, link the graph (L2).

Imported only on a cache miss, so a warm load never pays for the evaluator's imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from enlist.descriptors.context import Context
from enlist.descriptors.enlistment import evaluate_enlistment
from enlist.errors import DescriptorError, EnlistError, raise_all
from enlist.graph.edges import build_graph
from enlist.loader.cache import Header, Payload, fingerprint, gc_paused
from enlist.loader.disk import DiskTree
from enlist.model.diagnostic import Severity


def evaluate(
    root: Path, config: str, inputs: dict[str, Any], *, key: str, selection: tuple[str, ...], started_ns: int
) -> tuple[Header, Payload]:
    context = Context(
        root=root.as_posix(),
        config=config,
        predefined=inputs["predefined"],
        env=inputs["env"],
        package_roots=tuple(inputs["package_roots"]),
        generators=inputs["generators"],
        strict=inputs["strict"],
    )
    tree = DiskTree(root, started_ns, inputs["package_roots"])
    with gc_paused():
        enlistment = evaluate_enlistment(tree, context, selection)
        provided = inputs["public_provided"]
        graph, graph_warnings = build_graph(enlistment.projects, config=config, public_provided=provided)
    diagnostics = {d.sort_key: d for d in (*enlistment.diagnostics, *graph_warnings)}
    ordered = tuple(diagnostics[k] for k in sorted(diagnostics))
    if context.strict:
        errors: list[EnlistError] = [
            DescriptorError(d.message, location=d.location, hint="--strict makes warnings errors")
            for d in ordered
            if d.severity is Severity.WARNING
        ]
        raise_all(errors)
    records = tuple(tree.records[p] for p in sorted(tree.records))
    enabled = enlistment.optional_enabled
    header = Header(key, fingerprint(key, records, enabled), records, enlistment.optional_seen, enabled)
    return header, Payload(enlistment.projects, graph, ordered)
