"""What the planner is handed about one build, and what it hands back (L1, pure data).

`BuildSpec` carries every fact the planner would otherwise have to look up (the enlistment's real path, the
revision, the restored package trees, the cache directory, the allowed host variables), so planning is a pure
function: the same spec and projects always give the same `Plan`.
"""

from __future__ import annotations

from dataclasses import dataclass

from enlist.errors import ConfigError, Location
from enlist.model.action import Action, PathRoots
from enlist.model.project import Pass
from enlist.model.revision import Revision


@dataclass(frozen=True, slots=True)
class ToolTree:
    """A restored package: its name, the sha256 of its archive, the real path of its unpacked tree."""

    name: str
    sha256: str
    path: str

    @property
    def symbol(self) -> str:
        """How the tree is written in cache keys and manifests: independent of where the cache lives."""
        return f"@{self.name}/{self.sha256}"


@dataclass(frozen=True, slots=True)
class ProvidedTree:
    """A restored package with `provides = "public"` (a partial enlistment): the files of its tree's
    `public/<config>/`, each with the place it takes under this build's $(PUBLIC_ROOT)."""

    name: str
    version: str
    files: tuple[tuple[str, str], ...]  # (absolute path in the package tree, enlistment-relative dest), sorted


@dataclass(frozen=True, slots=True)
class BuildSpec:
    root: str  # real absolute POSIX path of the enlistment
    config: str  # "chk-amd64"
    version: str  # [enlistment] version, e.g. "1.0"
    revision: Revision
    packages: tuple[ToolTree, ...] = ()
    cache_dir: str = ""  # absolute, writable, per user: ENLIST_CACHE (zig's global cache lives below it)
    host_env: tuple[tuple[str, str], ...] = ()  # the variables [environment] allow lets in, with values
    host_tools: tuple[tuple[str, str], ...] = ()  # host toolchain only: ("cc"|"cxx"|"ar", absolute path)
    official: bool = False
    build_number: int | None = None

    @property
    def flavor(self) -> str:
        return self.config.partition("-")[0]

    @property
    def arch(self) -> str:
        return self.config.partition("-")[2]

    def package(self, name: str) -> ToolTree | None:
        for tree in self.packages:
            if tree.name == name:
                return tree
        return None

    def restored(self, name: str, section: str, location: Location) -> ToolTree:
        """The restored package `name`, which `section` of buildconf/enlist.toml names; a ConfigError if the
        enlistment does not have it."""
        tree = self.package(name)
        if tree is None:
            raise ConfigError(
                f"{section} package '{name}' is not restored",
                hint="declare it in buildconf/packages.toml, run `enlist lock`, then `enlist restore`",
                location=location,
            )
        return tree

    def absolute(self, path: str) -> str:
        """An enlistment-relative path as an absolute one; absolute paths stay as they are."""
        if path.startswith("/"):
            return path
        return self.root if path in ("", ".") else f"{self.root}/{path}"


@dataclass(frozen=True, slots=True)
class Consumption:
    """An edge of the project graph: `consumer`'s actions from `consumer_pass` on need what `producer` makes
    in
    `producer_pass` (its publish action of that pass, or, without one, its actions of that pass)."""

    consumer: str
    consumer_pass: Pass
    producer: str
    producer_pass: Pass


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    """A file whose whole content the planner decides (the version stamp source). The build writes it before
    it runs the actions, only when its bytes differ (temp + rename), so an unchanged stamp keeps its cache
    hits."""

    path: str  # enlistment-relative
    content: str


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]  # sorted by id; every `after` and every produced input names an action here
    roots: PathRoots
    files: tuple[GeneratedFile, ...] = ()

    def action(self, action_id: str) -> Action:
        for action in self.actions:
            if action.id == action_id:
                return action
        raise KeyError(action_id)
