"""The build manifest (L2): `out/<config>/manifest.json`, the record of what a build was made from and what it
published (DESIGN.md §1, §8). `enlist reproduce MANIFEST` rebuilds from it and compares.

Format (canonical: sorted keys, two-space indent, UTF-8, a final newline; no timestamps, no absolute paths):

    {
      "build": {"build_number": null, "official": false, "version": "1.0.0-dev"},
      "config": "chk-amd64",
      "environment": {"BUILD_TAG": "nightly"},
      "format": 1,
      "lock": "<sha256 of buildconf/packages.lock, or null without one>",
      "published": {"public/chk-amd64/bin/agent": "<sha256>", "public/chk-amd64/inc/replica.h": "<sha256>"},
      "revision": {"commit": "<40 hex, or \"\" outside git>", "dirty": false},
      "toolchain": {"kind": "zig", "target": "x86_64-linux-musl"},
      "tools": {"re2c": "<sha256 of the package archive>", "ziglang": "<sha256>"}
    }

`environment` holds every host variable that `[environment] allow` names and that was set for the build, with
its value (`{}` when none was): descriptors and commands saw those values, so `enlist reproduce` sets exactly
them. A variable allowed but unset is absent, as it was for the build. Manifests written before the field
existed lack it: their environment is not recorded (`recorded_environment` returns None).

`published` holds every file that the plan's publish actions write, enlistment-relative, with its sha256. Two
builds of one commit and config, with the same allowed variables, have the same manifest, wherever and whenever
they ran.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from enlist import canonical, digest
from enlist.errors import EnvironmentFault, InputError, Location
from enlist.fsio import write_atomic
from enlist.model.action import ActionKind
from enlist.rules import stamp
from enlist.rules.settings import RuleSettings
from enlist.rules.spec import BuildSpec, Plan
from enlist.store.state import manifest_path as manifest_path  # where it is, for readers of manifests

FORMAT = 1
LOCK_FILE = "buildconf/packages.lock"


def published_files(plan: Plan) -> list[str]:
    return sorted({dest for a in plan.actions if a.kind is ActionKind.PUBLISH for dest in a.outputs})


def document(
    plan: Plan,
    spec: BuildSpec,
    settings: RuleSettings,
    *,
    published: Mapping[str, str],
    lock: str | None,
) -> dict[str, Any]:
    """The manifest of a build whose published files have the digests `published` (path -> sha256)."""
    chosen = settings.toolchain
    version = stamp.stamp_version(spec.version, official=spec.official, build_number=spec.build_number)
    return {
        "build": {"build_number": spec.build_number, "official": spec.official, "version": version},
        "config": spec.config,
        "environment": dict(sorted(spec.host_env)),
        "format": FORMAT,
        "lock": lock,
        "published": {path: published[path] for path in sorted(published)},
        "revision": {"commit": spec.revision.commit, "dirty": spec.revision.dirty},
        "toolchain": {
            "kind": chosen.kind,
            "target": chosen.target(spec.arch) if chosen.kind == "zig" else "host",
        },
        "tools": {tree.name: tree.sha256 for tree in sorted(spec.packages, key=lambda t: t.name)},
    }


def write_manifest(plan: Plan, spec: BuildSpec, settings: RuleSettings) -> Path:
    """Hash every published file of the plan and the lock file, and write `out/<config>/manifest.json`.

    Call it after a successful build: a published file that is missing is an environment error."""
    root = Path(spec.root)
    published = {}
    for path in published_files(plan):
        try:
            published[path] = digest.of_file(root / path)
        except OSError as e:
            raise EnvironmentFault(
                f"cannot hash published file {path}: {e.strerror}",
                hint="build again; the manifest needs every file",
            ) from e
    lock_path = root / LOCK_FILE
    lock = digest.of_file(lock_path) if lock_path.is_file() else None
    doc = document(plan, spec, settings, published=published, lock=lock)
    target = manifest_path(root, spec.config)
    write_atomic(target, canonical.pretty(doc).encode("utf-8"))
    return target


def read_manifest(path: Path) -> dict[str, Any]:
    """Read a manifest back (for `enlist reproduce`), refusing anything that is not one."""
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InputError(f"{shown}: no such manifest", hint="manifests are written to out/<config>/") from e
    except (OSError, ValueError) as e:
        raise InputError(f"not a manifest: {e}", location=Location(shown)) from e
    return parse_manifest(text, shown)


def parse_manifest(text: str, shown: str) -> dict[str, Any]:
    """A manifest's text (from a file or a feed), checked to be a manifest this enlist can read."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise InputError(f"not a manifest: {e}", location=Location(shown)) from e
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f"not a manifest of format {FORMAT}",
            hint="was it written by another version of enlist?",
            location=Location(shown),
        )
    return data


def recorded_environment(data: Mapping[str, Any], shown: str) -> dict[str, str] | None:
    """The allowed host variables a manifest records (name -> value), or None for a manifest written before
    they were recorded; InputError for a record that no environment could hold."""
    if "environment" not in data:
        return None
    found = data["environment"]
    where = Location(shown)
    if not isinstance(found, dict):
        raise InputError("environment must be an object of variable names and values", location=where)
    for name, value in found.items():
        if not isinstance(value, str) or not name or "=" in name or "\0" in name or "\0" in value:
            raise InputError(
                f"environment: {name[:80]!r}: {repr(value)[:80]} is not a variable an environment can hold",
                hint="a name without '=' and a string value, neither holding a NUL character",
                location=where,
            )
    return dict(sorted(found.items()))
