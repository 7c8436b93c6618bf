"""Action-cache entries: the constructive traces (L1; the bytes, not where they are stored).

Two kinds of entry, canonical JSON, each stored under a key of `enlist.engine.keys`:

- under the **static key** of an action with a depfile, the headers its compiler read last time:

      {"deps":["projects/x/a.h","public/chk-amd64/inc/w.h"],"kind":"deps","v":1}

- under the **full key**, the outputs (paths in declared order, sha256, executable bit), the combined
  stdout/stderr of the run as a CAS digest (or null when empty) and how long the run took:

      {"kind":"outputs","log":null,"outputs":[{"digest":"9f2c...","executable":false,
       "path":"projects/x/obj/chk-amd64/a.o"}],"seconds":0.41,"v":1}

Output bytes live in the CAS under their digests. Decoding is strict: anything unexpected (another version, a
truncated write, a foreign file) reads as a miss, never as an error, because a cache may always be dropped.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from enlist.canonical import dumps
from enlist.digest import is_hex_digest

VERSION = 1


class Output(NamedTuple):
    path: str
    digest: str
    executable: bool


class Trace(NamedTuple):
    outputs: tuple[Output, ...]
    log: str | None  # digest of the command's output in the CAS
    seconds: float


def encode_deps(deps: tuple[str, ...]) -> bytes:
    return dumps({"v": VERSION, "kind": "deps", "deps": list(deps)}).encode("utf-8")


def decode_deps(data: bytes | None) -> tuple[str, ...] | None:
    obj = _load(data, "deps")
    if obj is None:
        return None
    deps = obj.get("deps")
    if not isinstance(deps, list) or not all(isinstance(d, str) and d for d in deps):
        return None
    return tuple(deps)


def encode_trace(trace: Trace) -> bytes:
    outputs = [{"path": o.path, "digest": o.digest, "executable": o.executable} for o in trace.outputs]
    seconds = round(trace.seconds, 3)
    body = {"v": VERSION, "kind": "outputs", "outputs": outputs, "log": trace.log, "seconds": seconds}
    return dumps(body).encode("utf-8")


def decode_trace(data: bytes | None) -> Trace | None:
    obj = _load(data, "outputs")
    if obj is None:
        return None
    try:
        outputs = tuple(
            Output(str(o["path"]), str(o["digest"]), bool(o["executable"])) for o in obj["outputs"]
        )
        log = obj["log"]
        seconds = float(obj["seconds"])
    except (KeyError, TypeError, ValueError):
        return None
    if not all(is_hex_digest(o.digest) for o in outputs) or not (log is None or is_hex_digest(str(log))):
        return None
    return Trace(outputs, None if log is None else str(log), seconds)


def _load(data: bytes | None, kind: str) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(obj, dict) or obj.get("v") != VERSION or obj.get("kind") != kind:
        return None
    return obj
