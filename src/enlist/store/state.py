"""What a build tree remembers between builds (L2), under `out/<config>/.enlist/`.

    out/<config>/.enlist/plan     the last plan, checked and fingerprinted: rewritten only when it changes
    out/<config>/.enlist/state    the stat cache and each action's last successful run: rewritten every build
    out/<config>/.enlist/noop     the no-op check: written only after a build with nothing left to do
    out/<config>/.enlist/lock     held while a build runs (`enlist.store.lock`)
    out/<config>/.enlist/manifest-base.json   the manifest less what the build decides (`enlist.app.planning`)
    out/.enlist/default-config    (stat signature of buildconf/enlist.toml, default config, allowed variables)

The files are Python `marshal` data (builtin types only: it loads ten times faster than JSON, and a build
with little to do must not spend its budget parsing). They are caches: a file that is missing, truncated,
from another version of enlist or another Python reads as "no state", and the build recomputes everything
from contents. Each is written to a temporary file and renamed; `state` names the plan it belongs to.
`plan` and `state` end with the CRC-32 of the marshal data before them (4 bytes, little-endian): the plan
holds the commands and their fingerprints, and a damaged byte that still unmarshals must not run another
command under the fingerprint (and cache keys) of the planned one. A file whose CRC does not match reads as
"no state".

`plan`: a dict
    format        "enlist-plan-4"
    id            a number naming this plan (`state` refers to it)
    request       PlanRequest.identity() the plan was made for
    config, roots (enlistment, packages), sources, warnings
    actions       the columns of `enlist.engine.table.ActionTable` (ids, projects, passes, kinds, inputs,
                  outputs, blobs)
    fingerprints  one `enlist.engine.keys.fingerprint` per action, aligned
    graph         (deps, dependants, order) of `enlist.engine.dag`, so a reused plan is not checked again

`state`: a dict
    format        "enlist-state-3"
    plan          the id of the plan it belongs to
    files         {path: 56 bytes: mtime_ns, size, inode (little-endian 64-bit), sha256}  (mtime -1: racy)
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
import time
import zlib
from pathlib import Path
from typing import Any, NamedTuple

from enlist.engine import dag as dagmod
from enlist.engine.table import ActionTable, RecordTable
from enlist.errors import EnvironmentFault
from enlist.model.action import PathRoots

PLAN_FORMAT = "enlist-plan-4"
STATE_FORMAT = "enlist-state-3"
NOOP_FORMAT = "enlist-noop-1"
MANIFEST_BASE = "manifest-base.json"


def state_dir(root: Path, config: str) -> Path:
    return root / "out" / config / ".enlist"


class PlanState(NamedTuple):
    """A plan as the tree keeps it: the actions as a table, their fingerprints and the checked graph."""

    config: str
    dag: dagmod.Dag
    roots: PathRoots
    sources: tuple[str, ...]
    warnings: tuple[str, ...]
    fingerprints: tuple[str, ...]
    request: tuple[object, ...] = ()
    id: int = 0  # set when saved

    @property
    def actions(self) -> ActionTable:
        return self.dag.actions


class TreeState(NamedTuple):
    plan: PlanState
    files: dict[str, bytes]
    records: RecordTable


def load(directory: Path) -> TreeState | None:
    plan = _load(directory / "plan", sealed=True)
    data = _load(directory / "state", sealed=True)
    if not isinstance(plan, dict) or plan.get("format") != PLAN_FORMAT:
        return None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT or data.get("plan") != plan.get("id"):
        return None
    try:
        table = ActionTable(plan["actions"])
        fingerprints = tuple(plan["fingerprints"])
        if len(fingerprints) != len(table):
            return None
        enlistment, packages = plan["roots"]
        kept = PlanState(
            plan["config"],
            dagmod.restore(table, plan["graph"]),
            PathRoots(enlistment, tuple(packages)),
            tuple(plan["sources"]),
            tuple(plan["warnings"]),
            fingerprints,
            tuple(plan["request"]),
            plan["id"],
        )
        return TreeState(kept, data["files"], RecordTable(data["records"]))
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def save_plan(directory: Path, plan: PlanState) -> PlanState:
    """Write the plan; returns it with the id the state will refer to."""
    saved = PlanState(
        plan.config,
        plan.dag,
        plan.roots,
        plan.sources,
        plan.warnings,
        plan.fingerprints,
        plan.request,
        time.time_ns(),
    )
    data = {
        "format": PLAN_FORMAT,
        "id": saved.id,
        "request": saved.request,
        "config": saved.config,
        "roots": (saved.roots.enlistment, saved.roots.packages),
        "sources": saved.sources,
        "warnings": saved.warnings,
        "actions": saved.actions.columns(),
        "fingerprints": saved.fingerprints,
        "graph": saved.dag.saved(),
    }
    write_atomic(directory / "plan", _seal(marshal.dumps(data)))
    return saved


def save(directory: Path, state: TreeState) -> None:
    data = {
        "format": STATE_FORMAT,
        "plan": state.plan.id,
        "files": state.files,
        "records": state.records.rows,
    }
    write_atomic(directory / "state", _seal(marshal.dumps(data)))


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


def _seal(data: bytes) -> bytes:
    return data + zlib.crc32(data).to_bytes(4, "little")


def _load(path: Path, *, sealed: bool = False) -> Any:
    try:
        data = path.read_bytes()
        if sealed:
            data, crc = data[:-4], data[-4:]
            if len(crc) != 4 or zlib.crc32(data).to_bytes(4, "little") != crc:
                return None
        return marshal.loads(data)
    except (OSError, EOFError, ValueError, TypeError):
        return None
