"""The toolchain tables of `buildconf/enlist.toml`, validated (L1, pure).

Schema (every key optional unless marked; see docs/toolchain.md for the why of each default):

    [toolchain]
    kind = "zig"                # "zig" (default) or "host" (the system cc, for comparisons; not a default)
    package = "ziglang"         # zig only: the package (buildconf/packages.toml) holding zig
    tool = "ziglang/zig"        # zig only: the zig executable inside that package's tree
    cpu = "baseline"            # zig only: -mcpu; "baseline" keeps objects independent of the build machine
    cflags = ["-fPIC"]          # every C and C++ compile, after the reproducibility flags
    cxxflags = []               # C++ compiles only, after cflags
    ldflags = []                # every link of a program or shared library

    [toolchain.targets]                 # zig only: the config's arch -> target with a pinned libc
    amd64 = "x86_64-linux-musl"

    [toolchain.host]                    # the host kind: executables looked up on PATH, or absolute paths
    cc = "cc"
    cxx = "c++"
    ar = "ar"

    [configs.chk]                       # per flavor (chk, fre): flags after the toolchain's
    cflags = ["-O0"]
    ldflags = []

    [generators.re2c]                   # pass0 code generators, chosen by the extension of a SOURCES file
    extensions = [".re"]                # required
    package = "re2c"                    # required: the package whose tree holds the tool
    tool = "re2c/data/bin/re2c"         # required: the tool inside that tree
    argv = ["{tool}", "-i", "--no-generation-date", "-o", "{output}", "{input}"]   # required
    outputs = ["{stem}.c"]              # required: names under $(O); C/C++ ones are compiled in pass1
    env = { }                           # extra variables of the command (templates allowed)

Templates in `argv`, `outputs` and `env` values: `{tool}` and `{package}` (absolute paths in the restored
tree), `{input}` (the source), `{output}` (the first output), `{outdir}` ($(O)), `{depfile}` (a depfile the
tool writes, which makes the action record discovered includes), `{stem}` (the source's file name without its
extension), `{srcdir}` (the source's directory). Tool and package paths are absolute; the others are relative
to the enlistment root, where every command runs.

Errors point at the line of the table or key in `buildconf/enlist.toml` when the text of the file is handed
in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from enlist.errors import ConfigError, Location

SHOWN = "buildconf/enlist.toml"
FLAVORS = ("chk", "fre")
KINDS = ("zig", "host")
PLACEHOLDERS = frozenset({"tool", "package", "input", "output", "outdir", "depfile", "stem", "srcdir"})
NOWHERE = Location(SHOWN)  # frozen: one shared default is safe
DEFAULT_TARGETS = (("amd64", "x86_64-linux-musl"),)
_PLACEHOLDER_RE = re.compile(r"\{([a-z]*)\}")


@dataclass(frozen=True, slots=True)
class HostTools:
    cc: str = "cc"
    cxx: str = "c++"
    ar: str = "ar"


@dataclass(frozen=True, slots=True)
class ToolchainSettings:
    kind: str = "zig"
    package: str = "ziglang"
    tool: str = "ziglang/zig"
    cpu: str = "baseline"
    targets: tuple[tuple[str, str], ...] = DEFAULT_TARGETS
    cflags: tuple[str, ...] = ()
    cxxflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    host: HostTools = HostTools()
    location: Location = NOWHERE

    def target(self, arch: str) -> str:
        for name, triple in self.targets:
            if name == arch:
                return triple
        known = ", ".join(name for name, _ in self.targets) or "none"
        raise ConfigError(
            f"no zig target for arch '{arch}'",
            hint=f'add `{arch} = "<triple>"` to [toolchain.targets] (known: {known})',
            location=self.location,
        )


@dataclass(frozen=True, slots=True)
class ConfigFlags:
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Generator:
    name: str
    extensions: tuple[str, ...]
    package: str
    tool: str
    argv: tuple[str, ...]
    outputs: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    location: Location = NOWHERE


@dataclass(frozen=True, slots=True)
class RuleSettings:
    toolchain: ToolchainSettings
    configs: tuple[tuple[str, ConfigFlags], ...]
    generators: tuple[Generator, ...]

    def flags(self, flavor: str) -> ConfigFlags:
        return dict(self.configs).get(flavor, ConfigFlags())

    def generator(self, name: str) -> Generator | None:
        for gen in self.generators:
            if gen.name == name:
                return gen
        return None

    def generator_for(self, path: str) -> Generator | None:
        """The generator that consumes a SOURCES file with this name, by its extension."""
        lowered = path.lower()
        for gen in self.generators:
            if any(lowered.endswith(ext) for ext in gen.extensions):
                return gen
        return None


def parse(raw: Mapping[str, Any], *, text: str = "", kind: str | None = None) -> RuleSettings:
    """Validate the toolchain tables of an `enlist.toml` read as TOML; `kind` overrides [toolchain] kind."""
    where = _Locator(text)
    toolchain = _toolchain(_table(raw, "toolchain", where), where, kind)
    configs_raw = _table(raw, "configs", where)
    configs = []
    for flavor, table in sorted(configs_raw.items()):
        loc = where.at(f"configs.{flavor}")
        if flavor not in FLAVORS:
            raise ConfigError(
                f"unknown flavor [configs.{flavor}]", hint="flavors are chk and fre", location=loc
            )
        table = _as_table(table, f"configs.{flavor}", loc)
        _no_unknown_keys(table, {"cflags", "ldflags"}, f"configs.{flavor}", where)
        configs.append(
            (
                flavor,
                ConfigFlags(
                    cflags=_strings(table, "cflags", f"configs.{flavor}", where),
                    ldflags=_strings(table, "ldflags", f"configs.{flavor}", where),
                ),
            )
        )
    generators = tuple(
        _generator(name, _as_table(table, f"generators.{name}", where.at(f"generators.{name}")), where)
        for name, table in sorted(_table(raw, "generators", where).items())
    )
    _check_extensions_unique(generators)
    return RuleSettings(toolchain=toolchain, configs=tuple(configs), generators=generators)


def _toolchain(table: Mapping[str, Any], where: _Locator, override: str | None) -> ToolchainSettings:
    _no_unknown_keys(
        table,
        {"kind", "package", "tool", "cpu", "targets", "cflags", "cxxflags", "ldflags", "host"},
        "toolchain",
        where,
    )
    kind = override or _string(table, "kind", "toolchain", where, "zig")
    if kind not in KINDS:
        raise ConfigError(
            f"unknown toolchain kind '{kind}'",
            hint="one of: zig, host",
            location=where.at("toolchain", "kind"),
        )
    package = _string(table, "package", "toolchain", where, "ziglang")
    targets_raw = _as_table(table.get("targets", {}), "toolchain.targets", where.at("toolchain.targets"))
    targets = tuple(
        (arch, _string(targets_raw, arch, "toolchain.targets", where, "")) for arch in sorted(targets_raw)
    )
    host_raw = _as_table(table.get("host", {}), "toolchain.host", where.at("toolchain.host"))
    _no_unknown_keys(host_raw, {"cc", "cxx", "ar"}, "toolchain.host", where)
    host = HostTools(
        **{
            key: _string(host_raw, key, "toolchain.host", where, default)
            for key, default in (("cc", "cc"), ("cxx", "c++"), ("ar", "ar"))
        }
    )
    return ToolchainSettings(
        kind=kind,
        package=package,
        tool=_string(table, "tool", "toolchain", where, "ziglang/zig"),
        cpu=_string(table, "cpu", "toolchain", where, "baseline"),
        targets=targets or DEFAULT_TARGETS,
        cflags=_strings(table, "cflags", "toolchain", where),
        cxxflags=_strings(table, "cxxflags", "toolchain", where),
        ldflags=_strings(table, "ldflags", "toolchain", where),
        host=host,
        location=where.at("toolchain"),
    )


def _generator(name: str, table: Mapping[str, Any], where: _Locator) -> Generator:
    path = f"generators.{name}"
    _no_unknown_keys(table, {"extensions", "package", "tool", "argv", "outputs", "env"}, path, where)
    for key in ("extensions", "package", "tool", "argv", "outputs"):
        if key not in table:
            raise ConfigError(
                f"[{path}] needs `{key}`", hint="see docs/toolchain.md", location=where.at(path)
            )
    extensions = _strings(table, "extensions", path, where)
    for ext in extensions:
        if not ext.startswith(".") or len(ext) < 2:
            raise ConfigError(
                f"[{path}] extension '{ext}' must start with a dot",
                hint='e.g. extensions = [".re"]',
                location=where.at(path, "extensions"),
            )
    env_raw = _as_table(table.get("env", {}), f"{path}.env", where.at(path, "env"))
    env = tuple((key, _string(env_raw, key, f"{path}.env", where, "")) for key in sorted(env_raw))
    gen = Generator(
        name=name,
        extensions=tuple(ext.lower() for ext in extensions),
        package=_string(table, "package", path, where, ""),
        tool=_string(table, "tool", path, where, ""),
        argv=_strings(table, "argv", path, where),
        outputs=_strings(table, "outputs", path, where),
        env=env,
        location=where.at(path),
    )
    for key, values in (("argv", gen.argv), ("outputs", gen.outputs), ("env", tuple(v for _, v in env))):
        for value in values:
            for placeholder in _PLACEHOLDER_RE.findall(value):
                if placeholder not in PLACEHOLDERS:
                    raise ConfigError(
                        f"[{path}] {key}: unknown placeholder '{{{placeholder}}}'",
                        hint="placeholders: " + ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS)),
                        location=where.at(path, key),
                    )
    if not gen.outputs or not gen.argv:
        raise ConfigError(f"[{path}] `argv` and `outputs` must not be empty", location=where.at(path))
    return gen


def _check_extensions_unique(generators: tuple[Generator, ...]) -> None:
    owner: dict[str, str] = {}
    for gen in generators:
        for ext in gen.extensions:
            if ext in owner:
                raise ConfigError(
                    f"extension '{ext}' is claimed by [generators.{owner[ext]}] and [generators.{gen.name}]",
                    hint="each extension belongs to one generator",
                    location=gen.location,
                )
            owner[ext] = gen.name


def _table(raw: Mapping[str, Any], name: str, where: _Locator) -> Mapping[str, Any]:
    return _as_table(raw.get(name, {}), name, where.at(name))


def _as_table(value: Any, name: str, location: Location) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table", location=location)
    return value


def _string(table: Mapping[str, Any], key: str, path: str, where: _Locator, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"[{path}] `{key}` must be a string", location=where.at(path, key))
    return value


def _strings(table: Mapping[str, Any], key: str, path: str, where: _Locator) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            f"[{path}] `{key}` must be a list of strings",
            hint=f'e.g. {key} = ["..."]',
            location=where.at(path, key),
        )
    return tuple(value)


def _no_unknown_keys(table: Mapping[str, Any], known: set[str], path: str, where: _Locator) -> None:
    for key in sorted(table):
        if key not in known:
            raise ConfigError(
                f"[{path}] unknown key `{key}`",
                hint="known keys: " + ", ".join(sorted(known)),
                location=where.at(path, key),
            )


class _Locator:
    """Finds the line of a table header, or of a key in it, in the TOML text (tomllib keeps no positions)."""

    _HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()

    def at(self, table: str, key: str | None = None) -> Location:
        header_line = 0
        current = ""
        for number, line in enumerate(self._lines, start=1):
            header = self._HEADER.match(line)
            if header:
                current = header.group(1).replace(" ", "").replace('"', "")
                if current == table and not header_line:
                    header_line = number
                continue
            match = self._KEY.match(line)
            if key is not None and current == table and match and match.group(1) == key:
                return Location(SHOWN, number)
            if key is not None and match and f"{current}.{match.group(1)}".lstrip(".") == f"{table}.{key}":
                return Location(SHOWN, number)  # an inline table: `targets = { ... }` under [toolchain]
        if header_line:
            return Location(SHOWN, header_line)
        parent = table.rpartition(".")[0]
        return self.at(parent, table.rpartition(".")[2]) if parent else Location(SHOWN)
