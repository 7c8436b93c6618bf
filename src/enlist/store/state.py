"""What a build tree remembers between builds (L2), under `out/<config>/.enlist/`.

    out/<config>/.enlist/state    the last plan, the stat cache and each action's last successful run
    out/<config>/.enlist/noop     the no-op check: written only after a build with nothing left to do
    out/<config>/.enlist/lock     held while a build runs (`enlist.store.lock`)
    out/.enlist/default-config    the default config, with the stat signature of the enlist.toml it came from

Both state files are Python `marshal` data (builtin types only: it loads ten times faster than JSON, and the
no-op path must not spend its budget parsing). They are caches: a file that is missing, truncated, from
another version of enlist or another Python reads as "no state", and the build recomputes everything from
contents. Each is written to a temporary file and renamed.

`state`: a dict
    format        "enlist-state-2"
    request       PlanRequest.identity() of the plan below
    plan          (config, action rows, (enlistment, packages), sources, warnings); rows as in
                  `enlist.engine.table`
    fingerprints  one `enlist.engine.keys.fingerprint` per action, aligned
    graph         (deps, order) of `enlist.engine.dag`, so a reused plan is not checked again
    files         {path: (mtime_ns, size, inode, sha256)}  (mtime -1: racy, hash again)
    records       {action id: record row (`enlist.engine.table`)}

`noop`: a tuple (format "enlist-noop-1", enlist version, request, env names, paths, signatures, logs) where
`request` is the build's identity (see `enlist.store.noop`), `paths` every file the last build depended on
(plan sources, inputs, discovered deps, outputs), `signatures` a flat tuple of (mtime_ns, size, inode) per
path, and `logs` the {file name: text} that a no-op writes into `out/<config>/`.
"""

from __future__ import annotations

import contextlib
import marshal
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enlist.engine import dag as dagmod
from enlist.engine.table import ActionTable, RecordTable
from enlist.errors import EnvironmentFault
from enlist.model.action import PathRoots
from enlist.store.files import Entry

STATE_FORMAT = "enlist-state-2"
NOOP_FORMAT = "enlist-noop-1"


def state_dir(root: Path, config: str) -> Path:
    return root / "out" / config / ".enlist"


@dataclass(frozen=True, slots=True)
class PlanState:
    """A plan as the tree keeps it: the actions as a table, their fingerprints and the checked graph."""

    config: str
    dag: dagmod.Dag
    roots: PathRoots
    sources: tuple[str, ...]
    warnings: tuple[str, ...]
    fingerprints: tuple[str, ...]

    @property
    def actions(self) -> ActionTable:
        return self.dag.actions


@dataclass(frozen=True, slots=True)
class TreeState:
    request: tuple[object, ...]
    plan: PlanState
    files: dict[str, Entry]
    records: RecordTable


def load(directory: Path) -> TreeState | None:
    data = _load(directory / "state")
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        return None
    try:
        config, rows, roots, sources, warnings = data["plan"]
        table = ActionTable(rows)
        fingerprints = tuple(data["fingerprints"])
        if len(fingerprints) != len(table):
            return None
        packages = tuple(tuple(p) for p in roots[1])
        plan = PlanState(
            config, dagmod.restore(table, data["graph"]), PathRoots(roots[0], packages), tuple(sources),
            tuple(warnings), fingerprints,
        )
        return TreeState(tuple(data["request"]), plan, dict(data["files"]), RecordTable(data["records"]))
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def save(directory: Path, state: TreeState) -> None:
    plan = state.plan
    data = {
        "format": STATE_FORMAT,
        "request": state.request,
        "plan": (plan.config, plan.actions.rows, (plan.roots.enlistment, plan.roots.packages), plan.sources,
                 plan.warnings),
        "fingerprints": plan.fingerprints,
        "graph": plan.dag.saved(),
        "files": state.files,
        "records": state.records.rows,
    }
    write_atomic(directory / "state", marshal.dumps(data))


def save_noop(directory: Path, body: tuple[Any, ...]) -> None:
    write_atomic(directory / "noop", marshal.dumps((NOOP_FORMAT, *body)))


def forget_noop(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(directory / "noop")


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise EnvironmentFault(
            f"cannot write {path}: {e.strerror}", hint="free some space or fix the permissions of out/"
        ) from e


def _load(path: Path) -> Any:
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
