"""The parsed-graph cache: `out/.enlist/graph-<config>.json` (L2; git-ignored with the rest of `out/`).

One JSON object per config, written by temp file + rename (readers never see half a file; concurrent writers
leave one whole winner):

    {"format": 1,
     "enlist": "0.1.0",
     "key": "<sha256 of the inputs that are not files: root, config, predefined macros, package roots,
             public paths provided by packages, allowed host variables, generators, strict>",
     "records": [[path, kind, sha256|null, [size, mtime_ns, ctime_ns, inode]|null], ...],
     "optional": {"seen": [dir, ...], "enabled": [dir, ...]},
     "files": [location file names], "projects": [...], "graph": {...}, "diagnostics": [...]}   (see `codec`)

It is valid when format, version and key match, every record still holds (`disk.still_current`), and the
command line enables the same OPTIONAL_DIRS among those the walk met: then a new walk would read the same
bytes and decide the same way everywhere, so it would produce exactly what the cache holds. Anything
unreadable is a miss.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enlist import __version__, canonical
from enlist.descriptors.dirs import Kind
from enlist.graph.model import ProjectGraph
from enlist.loader.codec import Decoder, Encoder
from enlist.loader.disk import FileRecord, still_current
from enlist.model.diagnostic import Diagnostic
from enlist.model.project import Project

FORMAT = 1
CACHE_DIR = Path("out") / ".enlist"


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    records: tuple[FileRecord, ...]
    optional_seen: tuple[str, ...]
    optional_enabled: tuple[str, ...]
    projects: tuple[Project, ...]
    graph: ProjectGraph
    diagnostics: tuple[Diagnostic, ...]


def path_for(root: Path, config: str) -> Path:
    return root / CACHE_DIR / f"graph-{config}.json"


def inputs_key(inputs: dict[str, Any]) -> str:
    return canonical.digest({"format": FORMAT, "enlist": __version__, **inputs})


def write(path: Path, entry: Entry) -> None:
    """Write atomically; a cache that cannot be written is only a slower next load, never an error."""
    encoder = Encoder()
    data = {
        "format": FORMAT,
        "enlist": __version__,
        "key": entry.key,
        "records": [_record(r) for r in entry.records],
        "optional": {"seen": list(entry.optional_seen), "enabled": list(entry.optional_enabled)},
        "projects": [encoder.project(p) for p in entry.projects],
        "graph": encoder.graph(entry.graph),
        "diagnostics": [encoder.diagnostic(d) for d in entry.diagnostics],
    }
    data["files"] = list(encoder.files)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"), sort_keys=True)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def _record(r: FileRecord) -> list[Any]:
    return [r.path, r.kind.value, r.digest, list(r.signature) if r.signature else None]


def read(path: Path, key: str) -> dict[str, Any] | None:
    """The raw cache data if it is for `key`; None when absent, unreadable or for other inputs."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("enlist") != __version__:
        return None
    return data if data.get("key") == key else None


def validate(
    root: Path, data: dict[str, Any], selection_enables: Any, started_ns: int
) -> tuple[Entry, bool] | None:
    """The entry if still valid (and whether its records were refreshed), else None."""
    try:
        seen = tuple(data["optional"]["seen"])
        enabled = tuple(data["optional"]["enabled"])
        if tuple(selection_enables(seen)) != enabled:
            return None
        refreshed = False
        records: list[FileRecord] = []
        for path, kind, digest, signature in data["records"]:
            record = FileRecord(path, Kind(kind), digest, tuple(signature) if signature else None)
            current = still_current(root, record, started_ns)
            if current is None:
                return None
            refreshed = refreshed or current != record
            records.append(current)
        decoder = Decoder(data["files"])
        entry = Entry(
            key=data["key"],
            records=tuple(records),
            optional_seen=seen,
            optional_enabled=enabled,
            projects=tuple(decoder.project(p) for p in data["projects"]),
            graph=decoder.graph(data["graph"]),
            diagnostics=tuple(decoder.diagnostic(d) for d in data["diagnostics"]),
        )
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return entry, refreshed
