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
    format        "enlist-state-1"
    request       PlanRequest.identity() of the plan below
    plan          (config, actions, (enlistment, packages), sources, warnings); an action is a tuple of its
                  fields in `Action` order, enums by value
    fingerprints  one `enlist.engine.keys.fingerprint` per action, aligned
    files         {path: (mtime_ns, size, inode, sha256)}  (mtime -1: racy, hash again)
    records       {action id: (fingerprint, static key, full key, deps, output digests, seconds)}

`noop`: a tuple (format "enlist-noop-1", enlist version, request, env names, paths, signatures, logs) where
`request` is the build's identity (see `enlist.store.noop`), `paths` every file the last build depended on
(plan sources, inputs, discovered deps, outputs), `signatures` a flat tuple of (mtime_ns, size, inode) per
path, and `logs` the {file name: text} that a no-op writes into `out/<config>/`.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enlist.engine.verdict import Record
from enlist.errors import EnvironmentFault
from enlist.model.action import Action, ActionKind, PathRoots
from enlist.model.plan import Plan
from enlist.model.project import Pass
from enlist.store.files import Entry

STATE_FORMAT = "enlist-state-1"
NOOP_FORMAT = "enlist-noop-1"


def state_dir(root: Path, config: str) -> Path:
    return root / "out" / config / ".enlist"


@dataclass(frozen=True, slots=True)
class TreeState:
    request: tuple[object, ...]
    plan: Plan
    fingerprints: tuple[str, ...]
    files: dict[str, Entry]
    records: dict[str, Record]


def load(directory: Path) -> TreeState | None:
    data = _load(directory / "state")
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        return None
    try:
        plan = _plan_from(data["plan"])
        records = {k: Record.from_tuple(v) for k, v in data["records"].items()}
        fingerprints = tuple(data["fingerprints"])
        if len(fingerprints) != len(plan.actions):
            return None
        return TreeState(tuple(data["request"]), plan, fingerprints, dict(data["files"]), records)
    except (KeyError, TypeError, ValueError, IndexError):
        return None


def save(directory: Path, state: TreeState) -> None:
    data = {
        "format": STATE_FORMAT,
        "request": state.request,
        "plan": _plan_to(state.plan),
        "fingerprints": state.fingerprints,
        "files": state.files,
        "records": {k: r.to_tuple() for k, r in sorted(state.records.items())},
    }
    write_atomic(directory / "state", marshal.dumps(data))


def save_noop(directory: Path, body: tuple[Any, ...]) -> None:
    write_atomic(directory / "noop", marshal.dumps((NOOP_FORMAT, *body)))


def forget_noop(directory: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(directory / "noop")


def write_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        raise EnvironmentFault(
            f"cannot write {path}: {e.strerror}", hint="free some space or fix the permissions of out/"
        ) from e


def _load(path: Path) -> Any:
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None


def _plan_to(plan: Plan) -> tuple[Any, ...]:
    actions = tuple(
        (
            a.id, a.kind.value, a.project, int(a.pass_), a.argv, a.inputs, a.outputs, a.env, a.cwd, a.depfile,
            a.after, a.publish, a.description,
        )
        for a in plan.actions
    )
    roots = (plan.roots.enlistment, plan.roots.packages)
    return (plan.config, actions, roots, plan.sources, plan.warnings)


def _plan_from(data: Any) -> Plan:
    config, raw_actions, roots, sources, warnings = data
    kinds = {k.value: k for k in ActionKind}
    actions = tuple(
        Action(
            id=t[0], kind=kinds[t[1]], project=t[2], pass_=Pass(t[3]), argv=tuple(t[4]),
            inputs=tuple(t[5]), outputs=tuple(t[6]), env=tuple(tuple(p) for p in t[7]), cwd=t[8],
            depfile=t[9], after=tuple(t[10]), publish=tuple(tuple(p) for p in t[11]), description=t[12],
        )
        for t in raw_actions
    )
    packages = tuple(tuple(p) for p in roots[1])
    return Plan(config, actions, PathRoots(roots[0], packages), tuple(sources), tuple(warnings))
