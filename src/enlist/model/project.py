"""The evaluated project model: what a `sources` file means once its macros are expanded (L0).

This is the contract between the descriptor evaluator (which builds it) and the graph and the engine (which read
it). Every value keeps the `Location` of the descriptor line it came from, so any later error or `--why` answer can
point at that line.

Paths are strings in one of two forms:
- enlistment-relative POSIX paths (`projects/replica/lib/log.c`, `public/chk-amd64/inc/replica.h`,
  `projects/replica/lib/obj/chk-amd64/libreplica.a`); `$(O)` and `$(PUBLIC_ROOT)` evaluate to such paths;
- absolute POSIX paths for files outside the enlistment: only restored package trees (`$(PkgX)`) may be there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from enlist.errors import Location
from enlist.model.passes import Pass

__all__ = ["Item", "Pass", "Project", "Publish", "SourceFile", "TargetType", "TestProgram"]


class TargetType(enum.Enum):
    PROGRAM = "PROGRAM"
    LIBRARY = "LIBRARY"
    DYNLINK = "DYNLINK"
    NOTARGET = "NOTARGET"


@dataclass(frozen=True, slots=True, order=True)
class Item:
    """One value of a list-valued key (a source, an include dir, a define, a flag), with where it was written."""

    value: str
    location: Location


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # enlistment-relative
    location: Location
    generator: str | None = None  # name of the code generator (enlist.toml [generators]) that consumes it in pass0


@dataclass(frozen=True, slots=True)
class Publish:
    """`{src=dest}` from PASSn_PUBLISH: `src` is copied to `dest` (under $(PUBLIC_ROOT)) at the end of `pass_`."""

    pass_: Pass
    src: str
    dest: str
    location: Location


@dataclass(frozen=True, slots=True)
class TestProgram:
    program: str  # a path (usually under $(O)) or a target name of this project
    args: tuple[str, ...]
    location: Location


@dataclass(frozen=True, slots=True)
class Project:
    """One directory with a `sources` file."""

    dir: str  # enlistment-relative POSIX path of the project directory, e.g. "projects/replica/lib"
    descriptor: str  # enlistment-relative path of its `sources` file
    target_name: str | None
    target_type: TargetType
    target_location: Location
    obj_dir: str  # $(O), enlistment-relative
    sources: tuple[SourceFile, ...] = ()
    includes: tuple[Item, ...] = ()
    defines: tuple[Item, ...] = ()
    c_flags: tuple[Item, ...] = ()
    linker_flags: tuple[Item, ...] = ()
    target_libs: tuple[Item, ...] = ()  # paths of libraries to link, already mapped to platform names
    publish: tuple[Publish, ...] = ()
    produces: tuple[Item, ...] = ()
    consumes: tuple[Item, ...] = ()
    tests: tuple[TestProgram, ...] = ()
    macros: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # final macro values, sorted

    @property
    def name(self) -> str:
        """A project is named by its directory, the one identity that is unique by construction."""
        return self.dir
