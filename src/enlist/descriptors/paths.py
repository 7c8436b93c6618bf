"""Paths written in descriptors, and what they mean in the model (L1, pure: string logic only).

- `\\` and `/` both separate; a relative path is relative to the directory of the project (or, for `!INCLUDE`,
  of the including file); `..` is folded lexically.
- Inside the enlistment a path becomes enlistment-relative POSIX (`projects/replica/lib/log.c`); inside a
  restored package tree it stays absolute (`/cache/trees/ab12.../bin/re2c`); anything else is an error at its
  line.
- Windows names map to the platform: `world.lib` -> `libworld.a`, `world.dll` -> `libworld.so`, `agent.exe` ->
  `agent`, in every key that names a build output (TARGETLIBS, publish pairs, TEST_PROGRAMS).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from enlist.descriptors.limits import quote
from enlist.errors import DescriptorError, Location

DRIVE_RE = re.compile(r"^[A-Za-z]:/")


@dataclass(frozen=True, slots=True)
class PathPolicy:
    root: str  # absolute POSIX path of the enlistment root
    package_roots: tuple[str, ...] = ()  # absolute POSIX paths of restored package trees

    def resolve(self, raw: str, base: str, location: Location, what: str) -> str:
        """`raw` as written, relative to the enlistment-relative directory `base` -> a model path."""
        path = raw.replace("\\", "/")
        if DRIVE_RE.match(path):
            raise DescriptorError(
                f"{what} '{quote(raw)}' is a Windows absolute path",
                location=location,
                hint="write paths relative to the project or from $(PROJROOT)",
            )
        if path.startswith("/"):
            return self._absolute(posixpath.normpath(path), raw, location, what)
        joined = posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)
        if joined.startswith("/"):  # relative to a file inside a package tree
            return self._absolute(joined, raw, location, what)
        if joined == ".." or joined.startswith("../"):
            raise DescriptorError(
                f"{what} '{quote(raw)}' is outside the enlistment",
                location=location,
                hint="a descriptor may name files of its enlistment and of restored packages only",
            )
        return "" if joined == "." else joined

    def _absolute(self, path: str, raw: str, location: Location, what: str) -> str:
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        if path == self.root:
            return ""
        if path.startswith(self.root + "/"):
            return path[len(self.root) + 1 :]
        for package in self.package_roots:
            if path == package or path.startswith(package + "/"):
                return path
        raise DescriptorError(
            f"{what} '{quote(raw)}' is outside the enlistment",
            location=location,
            hint="a descriptor may name files of its enlistment and of restored packages only",
        )


def platform_name(path: str) -> str:
    """The platform's name for a Windows file name: x.lib -> libx.a, x.dll -> libx.so, x.exe -> x."""
    head, _, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return path
    lower = ext.lower()
    if lower == "lib":
        name = f"lib{stem}.a"
    elif lower == "dll":
        name = f"lib{stem}.so"
    elif lower == "exe":
        name = stem
    else:
        return path
    return f"{head}/{name}" if head else name


def target_file(target_name: str, target_type: str) -> str | None:
    """The file name a target builds: LIBRARY -> libX.a, DYNLINK -> libX.so, PROGRAM -> X."""
    return {"LIBRARY": f"lib{target_name}.a", "DYNLINK": f"lib{target_name}.so", "PROGRAM": target_name}.get(
        target_type
    )


def is_under(path: str, directory: str) -> bool:
    """True when `path` is `directory` or inside it (both model paths; "" is the enlistment root)."""
    if not directory:
        return not path.startswith("/")
    return path == directory or path.startswith(directory + "/")
