"""`buildconf/packages.toml`: the feeds and packages of an enlistment (L1: pure, no I/O).

The caller reads the file; this module checks its meaning and turns it into a `PackagesConfig`, and computes
the
`PackageEnvironment` (macros, variables, PATH) of restored packages. Format:

    # platforms the lock covers (default: all of enlist.model.packages.PLATFORMS)
    platforms = ["linux-aarch64", "linux-x86_64", "macos-arm64", "macos-x86_64"]

    [feeds.pypi]
    kind = "pypi"                  # a PEP 503 index; its URL comes from pip's configuration (PIP_INDEX_URL,
                                   # `pip config get global.index-url`, else pip's default); `url` may
                                   override

    [feeds.tools]
    url = "//fileserver/tools"     # kind "folder" (a path, relative to the enlistment root, or file://)
                                   # or "http" (http:// or https://); `kind` may also be given explicitly

    [[package]]
    name = "ziglang"               # on a pypi feed: the project name
    version = "0.17.0"             # an exact version; several versions of one name may be listed
    feed = "pypi"
    env = { ZIG = "{root}/ziglang/zig" }   # exported variables: {root} (the unpacked tree), {name}, {version}
    path = ["ziglang"]             # directories of the tree to put on PATH

    [[package]]
    name = "mytool"
    version = "2.1"
    feed = "tools"
    file = "{name}/{version}/{name}-{version}-{platform}.tar.gz"   # the default; without {platform} the file
                                                                   # serves every platform
    platforms = ["linux-x86_64"]   # only where it exists (default: the enlistment's platforms)

    [feeds.official]
    url = "http://packages.example/packages/"   # where consumers read packages
    upload = "http://packages.example/"         # where `enlist publish official` uploads them (PyPI upload API)

    [[package]]
    name = "replica"               # a package made by an official build of another enlistment
    version = "1.0.7"
    feed = "official"
    file = "{name}-{version}-chk-amd64.tar.gz"
    provides = "public"            # its public/<config>/ tree overlays $(PUBLIC_ROOT): consume, do not build

Each package also becomes macros and variables `PkgMytool`, `PkgMytool_2`, `PkgMytool_2_1`: the absolute path
of the unpacked tree of the highest version whose version starts with that prefix (see `environment`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from enlist.errors import ConfigError, Location
from enlist.model.packages import (
    PLATFORMS,
    FeedKind,
    FeedSpec,
    PackageEnvironment,
    PackagesConfig,
    PackageSpec,
    Pin,
    RestoredPackage,
    macro_stem,
    version_key,
    version_suffixes,
)

DEFAULT_FILE = "{name}/{version}/{name}-{version}-{platform}.tar.gz"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_FEED_KEYS = {"kind", "url", "upload"}
_PACKAGE_KEYS = {"name", "version", "feed", "file", "platforms", "env", "path", "provides"}
PROVIDES = ("public",)


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: `Zig_Lang` and `zig-lang` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


class _Lines:
    """Finds the line of a table header or key so that errors point at it (tomllib keeps no positions).

    Headers are found in one pass; keys only when an error needs them (`where`), so a valid file costs little.
    """

    def __init__(self, text: str, shown_as: str) -> None:
        self.lines = text.splitlines()
        self.shown_as = shown_as
        self.headers = [
            (i + 1, line.strip()) for i, line in enumerate(self.lines) if line.lstrip().startswith("[")
        ]

    def header(self, pattern: str, nth: int = 0) -> int:
        regex = re.compile(pattern + r"\s*(#.*)?$")
        hits = [number for number, line in self.headers if regex.match(line)]
        return hits[nth] if nth < len(hits) else 0

    def key(self, start: int, key: str) -> int:
        regex = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(max(start, 1), len(self.lines) + 1):
            line = self.lines[i - 1]
            if i > start and line.lstrip().startswith("["):
                break
            if regex.match(line):
                return i
        return start

    def at(self, line: int) -> Location:
        return Location(self.shown_as, line)

    def where(self, start: int, key: str) -> Where:
        return lambda: self.at(self.key(start, key))


Where = Callable[[], Location]  # the location of a key, computed only for an error message


def parse(data: dict[str, Any], text: str, shown_as: str) -> PackagesConfig:
    """Check a parsed packages.toml (`text` is its source, for line numbers)."""
    lines = _Lines(text, shown_as)
    for key in sorted(set(data) - {"platforms", "feeds", "package"}):
        raise ConfigError(
            f"unknown key '{key}'",
            location=lines.at(lines.key(1, key) or lines.header(re.escape(f"[{key}]"))),
            hint="packages.toml has `platforms`, `[feeds.NAME]` tables and `[[package]]` entries",
        )
    platforms = _platforms(data.get("platforms", list(PLATFORMS)), lines.where(1, "platforms"))
    feeds = _feeds(data.get("feeds", {}), lines)
    raw_packages = data.get("package", [])
    if not isinstance(raw_packages, list):
        raise ConfigError(
            "`package` must be an array of tables",
            location=lines.at(lines.key(1, "package")),
            hint="write each package as a [[package]] block",
        )
    packages = [_package(raw, i, feeds, platforms, lines) for i, raw in enumerate(raw_packages)]
    _check_unique(packages)
    _check_env(packages)
    return PackagesConfig(
        feeds=tuple(sorted(feeds.values(), key=lambda f: f.name)),
        packages=tuple(sorted(packages, key=lambda p: (normalize_name(p.name), version_key(p.version)))),
        platforms=platforms,
    )


def _platforms(value: Any, where: Where, allowed: Sequence[str] = PLATFORMS) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise ConfigError(
            "`platforms` must be a non-empty list of platform names",
            location=where(),
            hint=f"known platforms: {', '.join(allowed)}",
        )
    for p in value:
        if p not in allowed:
            raise ConfigError(
                f"unknown platform '{p}'", location=where(), hint=f"one of {', '.join(allowed)}"
            )
    return tuple(sorted(set(value)))


def _feeds(raw: Any, lines: _Lines) -> dict[str, FeedSpec]:
    if not isinstance(raw, dict):
        raise ConfigError(
            "`feeds` must be a table of [feeds.NAME] tables", location=lines.at(lines.key(1, "feeds"))
        )
    feeds: dict[str, FeedSpec] = {}
    for name, table in raw.items():
        line = lines.header(r"\[\s*feeds\s*\.\s*[\"']?" + re.escape(name) + r"[\"']?\s*\]")
        where = lines.at(line)
        if not _NAME.match(name):
            raise ConfigError(
                f"bad feed name '{name}'", location=where, hint="letters, digits, '.', '_' and '-'"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"feed '{name}' must be a table", location=where)
        for key in sorted(set(table) - _FEED_KEYS):
            raise ConfigError(
                f"feed '{name}': unknown key '{key}'",
                location=lines.at(lines.key(line, key)),
                hint="a feed has `kind` (folder, http, pypi), `url` and, to publish to it over HTTP, `upload`",
            )
        url = table.get("url")
        if url is not None and (not isinstance(url, str) or not url):
            raise ConfigError(f"feed '{name}': `url` must be a non-empty string", location=where)
        upload = table.get("upload")
        if upload is not None and (not isinstance(upload, str) or not upload.startswith(("http://", "https://"))):
            raise ConfigError(
                f"feed '{name}': `upload` must be an http:// or https:// URL",
                location=lines.at(lines.key(line, "upload")),
                hint="the URL that accepts uploads (the PyPI upload API), e.g. the root of a pypiserver",
            )
        feeds[name] = FeedSpec(
            name=name,
            kind=_feed_kind(name, table.get("kind"), url, lines.where(line, "kind")),
            url=url,
            location=where,
            upload=upload,
        )
    return feeds


def _feed_kind(name: str, kind: Any, url: str | None, where: Where) -> FeedKind:
    if kind is None:
        if url is None:
            raise ConfigError(f"feed '{name}' needs a `url` or `kind = \"pypi\"`", location=where())
        return FeedKind.HTTP if url.startswith(("http://", "https://")) else FeedKind.FOLDER
    kinds = [k.value for k in FeedKind]
    if kind not in kinds:
        raise ConfigError(
            f"feed '{name}': unknown kind '{kind}'", location=where(), hint=f"one of {', '.join(kinds)}"
        )
    result = FeedKind(kind)
    if result is not FeedKind.PYPI and url is None:
        raise ConfigError(f"feed '{name}': a {kind} feed needs a `url`", location=where())
    return result


def _package(
    raw: Any, index: int, feeds: dict[str, FeedSpec], platforms: tuple[str, ...], lines: _Lines
) -> PackageSpec:
    line = lines.header(r"\[\[\s*package\s*\]\]", index)
    header = lines.at(line)
    if not isinstance(raw, dict):
        raise ConfigError("a [[package]] must be a table", location=header)
    for key in sorted(set(raw) - _PACKAGE_KEYS):
        raise ConfigError(
            f"package: unknown key '{key}'",
            location=lines.at(lines.key(line, key)),
            hint=f"a package has {', '.join(sorted(_PACKAGE_KEYS))}",
        )
    for key in ("name", "version", "feed"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise ConfigError(f"package needs a `{key}` string", location=lines.at(lines.key(line, key)))
    name, version, feed = raw["name"], raw["version"], raw["feed"]
    if not _NAME.match(name):
        raise ConfigError(f"bad package name '{name}'", location=lines.at(lines.key(line, "name")))
    if not _VERSION.match(version):
        raise ConfigError(
            f"package '{name}': bad version '{version}'",
            location=lines.at(lines.key(line, "version")),
            hint="an exact version such as 1.2.3",
        )
    if feed not in feeds:
        known = ", ".join(sorted(feeds)) or "none is defined"
        raise ConfigError(
            f"package '{name}': unknown feed '{feed}'",
            location=lines.at(lines.key(line, "feed")),
            hint=f"feeds: {known}; define it as [feeds.{feed}]",
        )
    file = _file(raw, name, feeds[feed], lines.where(line, "file"))
    own_platforms: tuple[str, ...] = ()
    if "platforms" in raw:
        own_platforms = _platforms(raw["platforms"], lines.where(line, "platforms"), platforms)
    return PackageSpec(
        name=name,
        version=version,
        feed=feed,
        location=header,
        file=file,
        platforms=own_platforms,
        env=_env(raw.get("env", {}), name, lines.where(line, "env")),
        path=_paths(raw.get("path", []), name, lines.where(line, "path")),
        provides=_provides(raw.get("provides"), name, lines.where(line, "provides")),
    )


def _provides(raw: Any, name: str, where: Where) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str) and raw in PROVIDES:
        return raw
    raise ConfigError(
        f"package '{name}': unknown provides {raw!r}",
        location=where(),
        hint='provides = "public" overlays the package\'s published tree on $(PUBLIC_ROOT)',
    )


def _file(raw: dict[str, Any], name: str, feed: FeedSpec, where: Where) -> str | None:
    if feed.kind is FeedKind.PYPI:
        if "file" in raw:
            raise ConfigError(
                f"package '{name}': `file` is not used with a pypi feed",
                location=where(),
                hint="the lock picks the wheel of each platform from the index",
            )
        return None
    file = raw.get("file", DEFAULT_FILE)
    if not isinstance(file, str) or not file:
        raise ConfigError(f"package '{name}': `file` must be a path template", location=where())
    _check_placeholders(file, {"name", "version", "platform"}, f"package '{name}': file", where)
    _check_relative(file, f"package '{name}': file", where)
    return file


def _env(raw: Any, name: str, where: Where) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        raise ConfigError(f"package '{name}': `env` must be a table of NAME = \"value\"", location=where())
    for var, value in raw.items():
        if not _VAR.match(var) or not isinstance(value, str):
            raise ConfigError(
                f"package '{name}': bad variable {var} = {value!r}",
                location=where(),
                hint='NAME = "{root}/bin/tool"',
            )
        _check_placeholders(value, {"root", "name", "version"}, f"package '{name}': env {var}", where)
    return tuple(sorted(raw.items()))


def _paths(raw: Any, name: str, where: Where) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise ConfigError(
            f"package '{name}': `path` must be a list of directories of the package", location=where()
        )
    for p in raw:
        _check_relative(p, f"package '{name}': path", where)
    return tuple(raw)


def _check_placeholders(text: str, allowed: set[str], what: str, where: Where) -> None:
    for found in _PLACEHOLDER.findall(text):
        if found not in allowed:
            raise ConfigError(
                f"{what}: unknown placeholder {{{found}}}",
                location=where(),
                hint=f"use {', '.join('{' + a + '}' for a in sorted(allowed))}",
            )


def _check_relative(path: str, what: str, where: Where) -> None:
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", path) or ".." in parts:
        raise ConfigError(f"{what}: '{path}' must be a relative path inside it", location=where())


def _check_unique(packages: Iterable[PackageSpec]) -> None:
    seen: set[tuple[str, str]] = set()
    for spec in packages:
        key = (normalize_name(spec.name), spec.version)
        if key in seen:
            raise ConfigError(f"package '{spec.name}' {spec.version} is listed twice", location=spec.location)
        seen.add(key)


def _check_env(packages: Sequence[PackageSpec]) -> None:
    owner: dict[str, str] = {}
    macros = {macro_stem(normalize_name(p.name)) for p in packages}
    for spec in packages:
        for var, _ in spec.env:
            other = owner.setdefault(var, normalize_name(spec.name))
            if other != normalize_name(spec.name):
                raise ConfigError(
                    f"packages '{other}' and '{spec.name}' both export {var}",
                    location=spec.location,
                    hint="a variable belongs to one package (its highest version wins)",
                )
            if any(var == m or var.startswith(m + "_") for m in macros):
                raise ConfigError(
                    f"package '{spec.name}': {var} is a package macro name", location=spec.location
                )


def environment(
    restored: Sequence[tuple[PackageSpec, RestoredPackage]], missing: Sequence[Pin] = ()
) -> PackageEnvironment:
    """Macros, variables and PATH of restored packages: the highest version wins each name and prefix."""
    ordered = sorted(restored, key=lambda pr: (normalize_name(pr[0].name), version_key(pr[0].version)))
    macros: dict[str, str] = {}
    env: dict[str, str] = {}
    for spec, package in ordered:  # ascending, so a higher version overwrites a lower one
        stem = macro_stem(normalize_name(spec.name))
        macros[stem] = package.tree
        for suffix in version_suffixes(spec.version):
            macros[f"{stem}_{suffix}"] = package.tree
        for var, template in spec.env:
            env[var] = _expand(template, spec, package)
    path: list[str] = []
    newest_first = sorted(ordered, key=lambda pr: version_key(pr[0].version), reverse=True)
    for spec, package in sorted(newest_first, key=lambda pr: normalize_name(pr[0].name)):  # stable sort
        path += [posixpath.normpath(f"{package.tree}/{p}") for p in spec.path]
    env.update(macros)
    return PackageEnvironment(
        packages=tuple(sorted(p for _, p in ordered)),
        macros=tuple(sorted(macros.items())),
        env=tuple(sorted(env.items())),
        path=tuple(path),
        missing=tuple(sorted(missing)),
    )


def _expand(template: str, spec: PackageSpec, package: RestoredPackage) -> str:
    values = {"root": package.tree, "name": spec.name, "version": spec.version}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def expand_file(template: str, spec: PackageSpec, platform: str) -> str:
    """The path of a package's file under its feed, for one platform."""
    values = {"name": spec.name, "version": spec.version, "platform": platform}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def platform_specific(spec: PackageSpec) -> bool:
    """Whether a folder/http package has one file per platform (its template names {platform})."""
    return spec.file is not None and "{platform}" in spec.file
