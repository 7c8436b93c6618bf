"""The parsed-graph cache: `out/.enlist/graph-<config>.json` (L2; git-ignored with the rest of `out/`).

Two lines of JSON, written by temp file + rename (readers never see half a file; concurrent writers leave one
whole winner). The first line is all a warm load reads; the second is parsed only when someone asks for the
projects or the graph: an unchanged enlistment is known unchanged after one small parse and a stat per file:

    {"format": 2, "enlist": "0.1.0",
     "key": "<sha256 of the inputs that are not files: root, config, predefined macros, package roots,
             public paths provided by packages, allowed host variables, generators, strict>",
     "fingerprint": "<sha256 of the key and every record: changes whenever the load would>",
     "records": [[path, kind, sha256|null, [size, mtime_ns, ctime_ns, inode]|null], ...],
     "optional": {"seen": [dir, ...], "enabled": [dir, ...]}}
    {"files": [location file names], "projects": [...], "graph": {...}, "diagnostics": [...]}   (see `codec`)

The cache is valid when format, version and key match, every record still holds (`disk.still_current`), and
the command line enables the same OPTIONAL_DIRS among those the walk met: then a new walk would read the
same bytes and decide the same way everywhere, so it would produce exactly what the cache holds. Anything
unreadable is a miss.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enlist import __version__, canonical
from enlist.descriptors.tree import Kind
from enlist.loader.disk import FileRecord, still_current

if TYPE_CHECKING:  # imported with the codec, when a payload is encoded or decoded
    from enlist.graph.model import ProjectGraph
    from enlist.model.diagnostic import Diagnostic
    from enlist.model.project import Project

FORMAT = 2
CACHE_DIR = Path("out") / ".enlist"


@dataclass(frozen=True, slots=True)
class Payload:
    projects: tuple[Project, ...]
    graph: ProjectGraph
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True, slots=True)
class Header:
    key: str
    fingerprint: str
    records: tuple[FileRecord, ...]
    optional_seen: tuple[str, ...]
    optional_enabled: tuple[str, ...]


def path_for(root: Path, config: str) -> Path:
    return root / CACHE_DIR / f"graph-{config}.json"


def inputs_key(inputs: dict[str, Any]) -> str:
    return canonical.digest({"format": FORMAT, "enlist": __version__, **inputs})


def fingerprint(key: str, records: Sequence[FileRecord], enabled: Sequence[str]) -> str:
    return canonical.digest([key, [[r.path, r.kind.value, r.digest] for r in records], list(enabled)])


def write(path: Path, header: Header, payload: Payload | bytes) -> None:
    """Write atomically; a cache that cannot be written is only a slower next load, never an error."""
    head = {
        "format": FORMAT,
        "enlist": __version__,
        "key": header.key,
        "fingerprint": header.fingerprint,
        "records": [_record(r) for r in header.records],
        "optional": {"seen": list(header.optional_seen), "enabled": list(header.optional_enabled)},
    }
    body = payload if isinstance(payload, bytes) else _encode(payload)
    import tempfile  # only a write needs it (with shutil, bz2, lzma: 5 ms of imports)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(head, separators=(",", ":"), sort_keys=True).encode() + b"\n" + body)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; it is an ordinary build output
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def _encode(payload: Payload) -> bytes:
    from enlist.loader.codec import Encoder

    encoder = Encoder()
    data = {
        "projects": [encoder.project(p) for p in payload.projects],
        "graph": encoder.graph(payload.graph),
        "diagnostics": [encoder.diagnostic(d) for d in payload.diagnostics],
    }
    data["files"] = list(encoder.files)
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def _record(r: FileRecord) -> list[Any]:
    return [r.path, r.kind.value, r.digest, list(r.signature) if r.signature else None]


def read(
    root: Path, path: Path, key: str, enables: Callable[[Sequence[str]], list[str]], started_ns: int
) -> tuple[Header, bytes, bool] | None:
    """The header and the undecoded payload if the cache is valid for `key` and the disk, else None; the
    flag says whether some stat signatures were refreshed (worth writing back)."""
    try:
        data = path.read_bytes()
        newline = data.index(b"\n")
        head = json.loads(data[:newline])
        if head.get("format") != FORMAT or head.get("enlist") != __version__ or head.get("key") != key:
            return None
        seen = tuple(head["optional"]["seen"])
        enabled = tuple(head["optional"]["enabled"])
        if tuple(enables(seen)) != enabled:
            return None
        refreshed = False
        records: list[FileRecord] = []
        for rec_path, kind, digest, signature in head["records"]:
            record = FileRecord(rec_path, Kind(kind), digest, tuple(signature) if signature else None)
            current = still_current(root, record, started_ns)
            if current is None:
                return None
            refreshed = refreshed or current != record
            records.append(current)
        header = Header(key, head["fingerprint"], tuple(records), seen, enabled)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return header, data[newline + 1 :], refreshed


def decode(payload: bytes) -> Payload:
    """Decode a payload read from a valid cache (ValueError if it is damaged)."""
    try:
        with gc_paused():
            return _decode(payload)
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(f"damaged graph cache: {e}") from e


def _decode(payload: bytes) -> Payload:
    from enlist.loader.codec import Decoder

    data = json.loads(payload)
    decoder = Decoder(data["files"])
    return Payload(
        projects=tuple(decoder.project(p) for p in data["projects"]),
        graph=decoder.graph(data["graph"]),
        diagnostics=tuple(decoder.diagnostic(d) for d in data["diagnostics"]),
    )


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that all stay alive: it would scan
    them over and over for nothing (half the time of a decode). Nothing here makes reference cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
