"""The packages of an official build (L2): each project's published files as a versioned package.

After a successful `enlist build --official --build-number N`, the published files are grouped into packages,
one per target name (a project's TARGETNAME, else its directory's name; normalised as package names are, so the
static and the shared library of one name share a package), versioned `<version>.<N>`, and written as a drop
that is itself a folder feed (`enlist publish` merges it into a feed):

    out/<config>/packages/
      index.json                                                the index (format below)
      <name>/<version>/<name>-<version>-<config>.tar.gz         the package archive (enlist.release.archive)
      <name>/<version>/<name>-<version>-<config>.tar.gz.sha256  "<sha256>  <file name>\\n" (sha256sum -c reads it)
      <name>/<version>/<name>-<version>-<config>.json           the package's metadata
      <enlistment>/<version>/<enlistment>-<version>-<config>.manifest.json   the build's manifest

An archive holds `enlist-package.json` (the metadata, byte for byte) and the published files at their places in
the enlistment, `public/<config>/...`, so that a partial enlistment overlays them on its own $(PUBLIC_ROOT).
Metadata (canonical JSON, sorted keys, two-space indent):

    {"commit": "<40 hex>", "config": "chk-amd64", "enlistment": "enlist", "format": 1,
     "files": {"public/chk-amd64/inc/replica.h": "<sha256>", "public/chk-amd64/lib/libreplica.a": "<sha256>"},
     "name": "replica", "projects": ["projects/replica/lib"], "version": "1.0.7"}

Index (the same format in a folder feed, where `enlist publish` merges drops into it):

    {"format": 1,
     "manifests": [{"commit": ..., "config": ..., "enlistment": "enlist", "file": "<path in the feed>",
                    "sha256": ..., "version": "1.0.7"}],
     "packages": [{"commit": ..., "config": ..., "file": "<path of the archive>", "metadata": "<path>",
                   "name": "replica", "sha256": "<sha256 of the archive>", "version": "1.0.7"}]}
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from enlist import canonical, digest
from enlist.errors import EnvironmentFault, InputError
from enlist.fsio import write_atomic
from enlist.model.packages import version_key
from enlist.model.project import Project
from enlist.packagesfile import normalize_name
from enlist.release import archive

FORMAT = 1
METADATA_MEMBER = "enlist-package.json"
INDEX = "index.json"


@dataclass(frozen=True, slots=True, order=True)
class PackageEntry:
    name: str
    version: str
    config: str
    commit: str
    file: str  # the archive, relative to the feed
    sha256: str  # of the archive
    metadata: str  # the metadata file, relative to the feed


@dataclass(frozen=True, slots=True, order=True)
class ManifestEntry:
    enlistment: str
    version: str
    config: str
    commit: str
    file: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Index:
    packages: tuple[PackageEntry, ...] = ()
    manifests: tuple[ManifestEntry, ...] = ()

    def to_json(self) -> str:
        packages = sorted(self.packages, key=lambda p: (p.name, version_key(p.version), p.config))
        manifests = sorted(self.manifests, key=lambda m: (m.enlistment, version_key(m.version), m.config))
        doc = {
            "format": FORMAT,
            "manifests": [asdict(m) for m in manifests],
            "packages": [asdict(p) for p in packages],
        }
        return canonical.pretty(doc)

    @classmethod
    def parse(cls, text: str) -> Index:
        """The index in `text`; ValueError when it is not one."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not an index of format {FORMAT}")
        try:
            packages = tuple(PackageEntry(**_strings(p)) for p in data.get("packages", []))
            manifests = tuple(ManifestEntry(**_strings(m)) for m in data.get("manifests", []))
        except TypeError as e:
            raise ValueError(f"malformed entry: {e}") from e
        return cls(packages, manifests)

    def merged(self, newer: Index) -> Index:
        """This index with the entries of `newer`, which replace any of the same name, version and config."""
        packages = {(p.name, p.version, p.config): p for p in (*self.packages, *newer.packages)}
        manifests = {(m.enlistment, m.version, m.config): m for m in (*self.manifests, *newer.manifests)}
        return Index(tuple(sorted(packages.values())), tuple(sorted(manifests.values())))


def _strings(entry: Any) -> dict[str, str]:
    if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
        raise ValueError("an index entry must be an object of strings")
    for key in ("file", "metadata"):
        parts = entry.get(key, "x").split("/")
        if entry.get(key, "x").startswith("/") or ".." in parts or "" in parts or "\\" in entry.get(key, ""):
            raise ValueError(f"{key} {entry[key]!r} is not a relative path in the feed")
    return entry


@dataclass(frozen=True, slots=True)
class Drop:
    """A drop on disk: its directory and its index."""

    directory: Path
    index: Index

    def files(self) -> list[str]:
        """Every file of the drop but the index, relative to it, in the order a feed should receive them:
        each archive, then its checksum and metadata, then the manifests."""
        out: list[str] = []
        for p in sorted(self.index.packages):
            out += [p.file, f"{p.file}.sha256", p.metadata]
        return out + [m.file for m in sorted(self.index.manifests)]


def conflict_error(feed: str, names: Sequence[str], *, verb: str) -> InputError:
    """A feed holds other bytes under names this drop would publish: a published version never changes."""
    listed = "".join(f"\n  {name}" for name in names)
    return InputError(
        f"the feed {feed} already holds other bytes for {len(names)} of these files; nothing was {verb}:{listed}",
        hint="a published version never changes: build again with a new --build-number",
    )


def package_name(project: Project) -> str:
    return normalize_name(project.target_name or project.dir.rsplit("/", 1)[-1])


def package_names(projects: Iterable[Project]) -> dict[str, str]:
    """{project dir: package name} of every project that publishes something."""
    return {p.dir: package_name(p) for p in sorted(projects, key=lambda p: p.dir) if p.publish}


def file_stem(name: str, version: str, config: str) -> str:
    return f"{name}/{version}/{name}-{version}-{config}"


def make_drop(
    directory: Path,
    *,
    root: Path,
    enlistment: str,
    manifest: Mapping[str, Any],
    published: Mapping[str, Sequence[str]],
    names: Mapping[str, str],
    mtime: int,
) -> Drop:
    """Package the published files of the build that `manifest` records into the drop at `directory`.

    `published` maps each project to the files it published (enlistment-relative), `names` each project to its
    package. The drop is built next to `directory` and swapped in whole."""
    version, config = manifest["build"]["version"], manifest["config"]
    commit = manifest["revision"]["commit"]
    groups: dict[str, list[str]] = {}
    projects: dict[str, list[str]] = {}
    for project, files in sorted(published.items()):
        name = names.get(project) or normalize_name(project.rsplit("/", 1)[-1])
        groups.setdefault(name, []).extend(files)
        projects.setdefault(name, []).append(project)
    work = directory.with_name(f".{directory.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    try:
        entries = []
        for name in sorted(groups):
            meta = _metadata(root, manifest, name=name, enlistment=enlistment, projects=projects[name],
                             files=groups[name])
            entries.append(_write_package(work, root, meta, version=version, config=config, commit=commit,
                                          mtime=mtime))
        manifest_entry = _write_manifest(work, manifest, enlistment=enlistment)
        index = Index(tuple(entries), (manifest_entry,))
        write_atomic(work / INDEX, index.to_json().encode("utf-8"))
        _swap(work, directory)
    except OSError as e:
        raise EnvironmentFault(f"cannot write the packages in {directory}: {e.strerror or e}") from e
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return Drop(directory, index)


def _metadata(
    root: Path,
    manifest: Mapping[str, Any],
    *,
    name: str,
    enlistment: str,
    projects: Sequence[str],
    files: Sequence[str],
) -> dict[str, Any]:
    recorded: Mapping[str, str] = manifest["published"]
    digests = {}
    for path in sorted(set(files)):
        have = digest.of_file(root / path)
        if recorded.get(path) != have:
            raise EnvironmentFault(
                f"{path} changed after the build: the manifest records {recorded.get(path)}, it now holds {have}",
                hint="nothing may write the public tree during an official build; build again",
            )
        digests[path] = have
    return {
        "commit": manifest["revision"]["commit"],
        "config": manifest["config"],
        "enlistment": enlistment,
        "files": digests,
        "format": FORMAT,
        "name": name,
        "projects": sorted(projects),
        "version": manifest["build"]["version"],
    }


def _write_package(
    work: Path, root: Path, meta: dict[str, Any], *, version: str, config: str, commit: str, mtime: int
) -> PackageEntry:
    stem = file_stem(meta["name"], version, config)
    meta_bytes = canonical.pretty(meta).encode("utf-8")
    members = [archive.Member(METADATA_MEMBER, data=meta_bytes)]
    members += [
        archive.Member(path, source=root / path, executable=os.access(root / path, os.X_OK))
        for path in meta["files"]
    ]
    file = f"{stem}.tar.gz"
    sha256 = archive.write(work / file, members, mtime=mtime)
    write_atomic(work / f"{file}.sha256", f"{sha256}  {Path(file).name}\n".encode())
    write_atomic(work / f"{stem}.json", meta_bytes)
    return PackageEntry(meta["name"], version, config, commit, file, sha256, f"{stem}.json")


def _write_manifest(work: Path, manifest: Mapping[str, Any], *, enlistment: str) -> ManifestEntry:
    version, config = manifest["build"]["version"], manifest["config"]
    file = f"{file_stem(enlistment, version, config)}.manifest.json"
    data = canonical.pretty(dict(manifest)).encode("utf-8")
    write_atomic(work / file, data)
    commit = manifest["revision"]["commit"]
    return ManifestEntry(enlistment, version, config, commit, file, digest.of_bytes(data))


def _swap(work: Path, directory: Path) -> None:
    """Put the new drop in place of the old one; a reader sees one or the other, or (briefly) none."""
    old = directory.with_name(f".{directory.name}.{os.getpid()}.old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        os.rename(directory, old)
    os.rename(work, directory)
    shutil.rmtree(old, ignore_errors=True)


def read_drop(directory: Path) -> Drop:
    """The drop at `directory`, with every file present and every archive matching its digest."""
    try:
        index = Index.parse((directory / INDEX).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(
            f"no packages in {directory}",
            hint="an official build makes them: enlist build --official --build-number N",
        ) from e
    except (OSError, ValueError) as e:
        raise InputError(f"{directory / INDEX}: not a package index ({e})") from e
    drop = Drop(directory, index)
    for entry in index.packages:
        path = directory / entry.file
        have = digest.of_file(path) if path.is_file() else None
        if have != entry.sha256:
            raise EnvironmentFault(
                f"{path}: {'missing' if have is None else 'changed since it was packaged'}",
                hint="build the packages again with the official build",
            )
    for rel in drop.files():
        if not (directory / rel).is_file():
            raise EnvironmentFault(f"{directory / rel}: missing", hint="build the packages again")
    return drop
