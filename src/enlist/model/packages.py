"""Packages, pins and restored packages (L0: stdlib only).

Three stages, three types, as in CIPD: what `buildconf/packages.toml` asks for (`FeedSpec`, `PackageSpec`,
`PackagesConfig`), what `buildconf/packages.lock` pins (`Pin`, `Lock`), and what a restore put on this machine
(`RestoredPackage`, `PackageEnvironment`: the view the build, `enlist env` and descriptors use).

Platforms are named `<os>-<cpu>` (`PLATFORMS`); a pin for `any` serves every platform.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from enlist.errors import Location

PLATFORMS: tuple[str, ...] = (
    "linux-aarch64",
    "linux-x86_64",
    "macos-arm64",
    "macos-x86_64",
    "windows-arm64",
    "windows-x86_64",
)
ANY_PLATFORM = "any"


class FeedKind(enum.Enum):
    FOLDER = "folder"  # a directory or file share: files at <url>/<file>
    HTTP = "http"  # an HTTP(S) server: files at <url>/<file>
    PYPI = "pypi"  # a PyPI-style simple index (PEP 503); its URL comes from pip's configuration


@dataclass(frozen=True, slots=True)
class FeedSpec:
    name: str
    kind: FeedKind
    url: str | None  # None for a pypi feed that uses pip's configured index
    location: Location
    upload: str | None = None  # where `enlist publish` pushes packages (a PyPI-style upload URL); optional


@dataclass(frozen=True, slots=True)
class PackageSpec:
    """One `[[package]]` of packages.toml: a name at one exact version, from one feed."""

    name: str
    version: str
    feed: str
    location: Location
    file: str | None = None  # folder/http feeds: path template under the feed ({name}, {version}, {platform})
    platforms: tuple[str, ...] = ()  # where the package exists; empty: every platform of the enlistment
    env: tuple[tuple[str, str], ...] = ()  # exported variables, values may use {root}, {name}, {version}
    path: tuple[str, ...] = ()  # directories inside the tree to put on PATH, in order
    provides: str | None = None  # "public": its tree's public/<config>/ overlays $(PUBLIC_ROOT) of a build

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.version)


@dataclass(frozen=True, slots=True)
class PackagesConfig:
    feeds: tuple[FeedSpec, ...]  # sorted by name
    packages: tuple[PackageSpec, ...]  # sorted by (name, version)
    platforms: tuple[str, ...]  # platforms the lock covers, sorted

    def feed(self, name: str) -> FeedSpec:
        for feed in self.feeds:
            if feed.name == name:
                return feed
        raise KeyError(name)

    def platforms_of(self, spec: PackageSpec) -> tuple[str, ...]:
        return spec.platforms or self.platforms


@dataclass(frozen=True, slots=True, order=True)
class Pin:
    """One block of packages.lock: the exact file of a package version on one platform (or `any`)."""

    package: str
    version: str
    platform: str
    feed: str
    url: str  # relative to the feed: a path under a folder/http feed, "<project>/<file name>" on a pypi feed
    sha256: str

    @property
    def file_name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Lock:
    pins: tuple[Pin, ...]  # sorted

    def pin_for(self, name: str, version: str, platform: str) -> Pin | None:
        exact = any_ = None
        for pin in self.pins:
            if pin.package == name and pin.version == version:
                if pin.platform == platform:
                    exact = pin
                elif pin.platform == ANY_PLATFORM:
                    any_ = pin
        return exact or any_


@dataclass(frozen=True, slots=True, order=True)
class RestoredPackage:
    name: str
    version: str
    sha256: str  # digest of the archive: the identity of the tree
    tree: str  # absolute POSIX path of the unpacked, read-only tree
    provides: str | None = None  # PackageSpec.provides


@dataclass(frozen=True, slots=True)
class PackageEnvironment:
    """What restored packages give a build: macros for descriptors, variables and PATH entries for tools."""

    packages: tuple[RestoredPackage, ...]  # sorted by (name, version)
    macros: tuple[tuple[str, str], ...] = ()  # PkgZiglang, PkgZiglang_0, ... -> tree path; sorted
    env: tuple[tuple[str, str], ...] = ()  # macros plus the packages' exported variables; sorted
    path: tuple[str, ...] = ()  # absolute directories to prepend to PATH, in order
    missing: tuple[Pin, ...] = field(default=(), compare=False)  # pins whose tree is not in the cache

    @property
    def complete(self) -> bool:
        return not self.missing


_VERSION_PART = re.compile(r"\d+|[A-Za-z]+")


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Order versions the way people expect: 0.9 < 0.17.0 < 1.0rc1 < 1.0 < 1.0.1."""
    parts: list[tuple[int, int, str]] = []
    for token in _VERSION_PART.findall(version):
        parts.append((2, int(token), "") if token.isdigit() else (0, 0, token.lower()))
    parts.append((1, 0, ""))  # the end sorts above a pre-release tag, below a further number
    return tuple(parts)


def macro_stem(name: str) -> str:
    """`ziglang` -> `PkgZiglang`, `grpcio-tools` -> `PkgGrpcioTools`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    return "Pkg" + "".join(w[0].upper() + w[1:] for w in words)


def version_suffixes(version: str) -> tuple[str, ...]:
    """`0.17.0` -> (`0`, `0_17`, `0_17_0`): the prefixes a macro may lock to."""
    parts = [re.sub(r"[^A-Za-z0-9]", "_", p) for p in version.split(".") if p]
    return tuple("_".join(parts[: i + 1]) for i in range(len(parts)))
