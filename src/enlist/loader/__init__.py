"""Loading an enlistment: walk, evaluate, link into the project graph, through the parsed-graph cache (L2).

    loaded = load(settings, "chk-amd64", predefined={"PkgZiglang": "/cache/trees/ab12..."},
                  package_roots=["/cache/trees/ab12..."])
    loaded.projects        # tuple[Project, ...] in dirs-walk order
    loaded.graph           # ProjectGraph (plain data); loaded.graph.to_networkx() for networkx
    loaded.diagnostics     # warnings and !MESSAGEs, sorted (the build writes them to build.wrn)
    loaded.files           # every descriptor and include read, with its sha256
    loaded.fingerprint     # changes whenever the result of the load would: key a plan cache with it
    loaded.select(["projects/agent"])   # project dirs named by command-line DIRS

A cache hit reads the first line of one JSON file and stats the recorded files; the rest is decoded on first
use of `.projects`/`.graph`/`.diagnostics`. It imports neither networkx nor the descriptor evaluator.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from enlist.descriptors.paths import is_under
from enlist.errors import ConfigError, InputError, Location
from enlist.loader import cache
from enlist.loader.disk import FileRecord
from enlist.workspace import ENLIST_TOML, Settings, check_config

if TYPE_CHECKING:  # the model classes load with the payload, not on a warm load that needs none of them
    from enlist.graph.model import ProjectGraph
    from enlist.model.diagnostic import Diagnostic
    from enlist.model.project import Project


@dataclass(frozen=True)
class LoadedEnlistment:
    """A loaded enlistment. `fingerprint` and `records` are known at once; the projects, graph and
    diagnostics are decoded on first use, so a caller that only asks "did anything change?" pays for nothing
    else (compare `fingerprint` with the one it saved)."""

    root: Path
    config: str
    fingerprint: str  # changes whenever any file read, any input or the OPTIONAL_DIRS selection does
    records: tuple[FileRecord, ...]  # every path looked at: files read, directories, absent files
    from_cache: bool
    decode: Callable[[], cache.Payload] = field(repr=False, compare=False)

    @functools.cached_property
    def _payload(self) -> cache.Payload:
        return self.decode()

    @property
    def projects(self) -> tuple[Project, ...]:
        """Every project, in dirs-walk order."""
        return self._payload.projects

    @property
    def graph(self) -> ProjectGraph:
        return self._payload.graph

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Warnings and !MESSAGEs, sorted by location."""
        return self._payload.diagnostics

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity.value == "warning")

    @property
    def files(self) -> tuple[FileRecord, ...]:
        """The files read (descriptors and includes), sorted by path, each with its sha256."""
        return tuple(r for r in self.records if r.digest is not None)

    def project(self, directory: str) -> Project | None:
        return next((p for p in self.projects if p.dir == directory), None)

    def select(self, dirs: Sequence[str]) -> tuple[str, ...]:
        """Project dirs named by `dirs` (enlistment-relative): the projects at or below each, else the one
        containing it."""
        chosen: dict[str, None] = {}
        for named in dirs:
            found = [p.dir for p in self.projects if is_under(p.dir, named)]
            found = found or [p.dir for p in self.projects if is_under(named, p.dir)][-1:]
            if not found:
                raise InputError(
                    f"'{named or '.'}' holds no project of this enlistment",
                    hint="is it listed in a dirs file (DIRS, or OPTIONAL_DIRS of its parent)?",
                )
            chosen.update(dict.fromkeys(found))
        return tuple(chosen)


def generators(settings: Settings) -> dict[str, str]:
    """`[generators.NAME] extensions = [".re"]` of enlist.toml -> {".re": "NAME"} (other keys: planner's)."""
    table = settings.raw.get("generators", {})
    where = Location(ENLIST_TOML.as_posix())
    if not isinstance(table, dict):
        raise ConfigError("[generators] must be a table of generators", location=where)
    result: dict[str, str] = {}
    for name, spec in sorted(table.items()):
        extensions = spec.get("extensions", []) if isinstance(spec, dict) else None
        if not isinstance(extensions, list) or not all(
            isinstance(e, str) and e.startswith(".") for e in extensions
        ):
            raise ConfigError(f'[generators.{name}] extensions must be a list like [".re"]', location=where)
        for ext in extensions:
            if ext.lower() in result:
                raise ConfigError(
                    f"extension '{ext}' belongs to two generators: {result[ext.lower()]} and {name}",
                    location=where,
                )
            result[ext.lower()] = name
    return result


def load(
    settings: Settings,
    config: str,
    *,
    predefined: Mapping[str, str] | None = None,
    package_roots: Sequence[str] = (),
    public_provided: Sequence[str] = (),
    strict: bool = False,
    dirs: Sequence[str] = (),
    use_cache: bool = True,
) -> LoadedEnlistment:
    """Load the enlistment of `settings` for `config`; `dirs` (enlistment-relative) enable OPTIONAL_DIRS."""
    check_config(config)
    started_ns = time.time_ns()
    root = settings.root
    selection = tuple(_normalise(d) for d in dirs)
    env = {name: os.environ[name] for name in settings.env_allow if name in os.environ}
    inputs = {
        "root": root.as_posix(),
        "config": config,
        "predefined": dict(sorted((predefined or {}).items())),
        "package_roots": sorted(p.rstrip("/") for p in package_roots),
        "public_provided": sorted(public_provided),
        "env": env,
        "generators": generators(settings),
        "strict": strict,
    }
    key = cache.inputs_key(inputs)
    cache_path = cache.path_for(root, config)

    def enables(seen: Sequence[str]) -> list[str]:
        return [o for o in seen if any(is_under(named, o) for named in selection)]

    def cold() -> tuple[cache.Header, cache.Payload]:
        from enlist.loader.evaluate import evaluate  # the evaluator and linker load only on a miss

        return evaluate(root, config, inputs, key=key, selection=selection, started_ns=started_ns)

    hit = cache.read(root, cache_path, key, enables, started_ns) if use_cache else None
    if hit is not None:
        header, body, refreshed = hit
        if refreshed:
            cache.write(cache_path, header, body)
        return LoadedEnlistment(
            root, config, header.fingerprint, header.records, True, functools.partial(_decode, body, cold)
        )
    header, payload = cold()
    if use_cache:
        cache.write(cache_path, header, payload)
    return LoadedEnlistment(root, config, header.fingerprint, header.records, False, lambda: payload)


def _decode(body: bytes, cold: Callable[[], tuple[cache.Header, cache.Payload]]) -> cache.Payload:
    try:
        return cache.decode(body)
    except ValueError:  # a damaged cache is a miss, even this late
        return cold()[1]


def _normalise(directory: str) -> str:
    text = directory.replace("\\", "/").strip("/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts or directory.startswith("/"):
        raise InputError(f"'{directory}' is not a directory of the enlistment")
    return "/".join(parts)


__all__ = ["FileRecord", "LoadedEnlistment", "generators", "load"]
