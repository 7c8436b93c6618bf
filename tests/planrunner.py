"""A tiny test-only runner: executes a `Plan` in topological order with plain subprocess calls, as the engine
will.

It honours what the plan promises the engine: generated files are written first, declared outputs are deleted
before an action runs (so `ar rcs` never appends to a stale archive), parents of outputs exist, the
environment is exactly `action.env`, publish copies pairs, and a TEST's stdout and stderr go to its `stdout`
file.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

from enlist.model.action import Action, ActionKind
from enlist.rules.spec import Plan


@dataclass(frozen=True)
class Outcome:
    action: Action
    returncode: int
    output: str


def order(plan: Plan) -> list[Action]:
    """Topological order over data and `after` edges; edges to actions outside the plan count as done."""
    writer = {out: a.id for a in plan.actions for out in a.outputs}
    known = set(writer.values()) | {a.id for a in plan.actions}
    graph = {
        a.id: {*(x for x in a.after if x in known), *(writer[i] for i in a.inputs if i in writer)}
        for a in plan.actions
    }
    by_id = {a.id: a for a in plan.actions}
    return [by_id[i] for i in TopologicalSorter(graph).static_order()]


def run(plan: Plan, *, stop_on_failure: bool = True) -> dict[str, Outcome]:
    root = Path(plan.roots.enlistment)
    for file in plan.files:
        (root / file.path).parent.mkdir(parents=True, exist_ok=True)
        (root / file.path).write_text(file.content)
    outcomes: dict[str, Outcome] = {}
    for action in order(plan):
        for out in action.outputs:
            (root / out).unlink(missing_ok=True)
            (root / out).parent.mkdir(parents=True, exist_ok=True)
        outcome = _run_one(root, action)
        outcomes[action.id] = outcome
        if outcome.returncode != 0 and stop_on_failure:
            raise AssertionError(f"{action.label} failed ({outcome.returncode}):\n{outcome.output}")
    return outcomes


def _run_one(root: Path, action: Action) -> Outcome:
    if action.kind is ActionKind.PUBLISH:
        for src, dest in action.publish:
            shutil.copy2(root / src, root / dest)
        return Outcome(action, 0, "")
    done = subprocess.run(
        action.argv, cwd=root / action.cwd, env=dict(action.env), capture_output=True, check=False
    )
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    if action.stdout:
        (root / action.stdout).write_bytes(done.stdout + done.stderr)
    return Outcome(action, done.returncode, output)
