"""Walking the enlistment from its root `dirs` file (L1, pure: the disk is behind the `Tree` protocol).

    DIRS          = replica tracker agent     always built, in this order unless edges say otherwise
    OPTIONAL_DIRS = tools                     built only when named on the command line (or a dir below)

Entries are subdirectories of the directory holding the `dirs` file (`a` or `a\\b`, never `..` or absolute). A
directory holding a `sources` file is a project; one holding a `dirs` file is walked; it may hold both (the
project comes first). The walk is depth-first in file order, which gives the order of `Enlistment.projects`.

Errors, each at the line of the entry: a directory that does not exist, one with neither file, one listed
twice (also through a symbolic link), a symbolic link that leads back to a directory being walked or out of
the enlistment, and a directory more than MAX_DIRS_DEPTH levels below the root (`limits`).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from enlist.descriptors.context import Context
from enlist.descriptors.evaluator import Evaluation, capped
from enlist.descriptors.limits import MAX_DIRS_DEPTH, quote
from enlist.descriptors.macros import Macros
from enlist.descriptors.paths import PathPolicy, is_under
from enlist.descriptors.text import Text, words
from enlist.descriptors.tree import Kind, Tree
from enlist.errors import DescriptorError, Location
from enlist.model.diagnostic import Diagnostic
from enlist.model.project import Pass


@dataclass(slots=True)
class Walk:
    """The result of a walk: project directories in order, and what was read and met on the way."""

    projects: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # dirs files and their includes, in the order read
    optional_seen: list[str] = field(default_factory=list)  # every OPTIONAL_DIRS entry met
    optional_enabled: list[str] = field(default_factory=list)  # those walked because the selection named them


class Walker:
    def __init__(self, tree: Tree, context: Context, selection: tuple[str, ...]) -> None:
        self.tree = tree
        self.context = context
        self.selection = selection
        self.walk = Walk()
        self.visited: dict[str, str] = {}  # identity -> path first walked
        self.listed: dict[str, Location] = {}  # path -> where it was listed
        self.root_identity = tree.identity("")

    def run(self) -> Walk:
        if self.tree.kind("dirs") is not Kind.FILE:
            raise DescriptorError(
                "the enlistment root has no dirs file",
                location=Location("dirs"),
                hint="create it and list the directories to build: DIRS = projects",
            )
        self._directory("", (), Location("dirs"))
        return self.walk

    def _directory(self, path: str, stack: tuple[str, ...], listed_at: Location) -> None:
        if len(stack) > MAX_DIRS_DEPTH:
            raise DescriptorError(
                f"'{path}' is nested deeper than {MAX_DIRS_DEPTH} directories below the root",
                location=listed_at,
                hint="is a dirs file listing a directory that leads back into itself?",
            )
        identity = self.tree.identity(path)
        if identity in stack:
            raise DescriptorError(
                f"'{path}' is a symbolic link loop: it leads back to a directory already being walked",
                location=listed_at,
            )
        if identity in self.visited:
            raise DescriptorError(
                f"'{path}' is the same directory as '{self.visited[identity]}': it is listed twice",
                location=listed_at,
                hint="list each directory once (a symbolic link made two names for it)",
            )
        if path and not is_under(identity, self.root_identity):
            raise DescriptorError(
                f"'{path}' leads outside the enlistment, to {identity}, through a symbolic link",
                location=listed_at,
                hint="list directories of the enlistment; a symbolic link may not lead elsewhere",
            )
        self.visited[identity] = path
        has_sources = self.tree.kind(_join(path, "sources")) is Kind.FILE
        has_dirs = self.tree.kind(_join(path, "dirs")) is Kind.FILE
        if not has_sources and not has_dirs:
            raise DescriptorError(f"'{path}' has neither a dirs nor a sources file", location=listed_at)
        if has_sources:
            self.walk.projects.append(path)
        if has_dirs:
            for child, location in self._entries(path):
                self._directory(child, (*stack, identity), location)

    def _entries(self, path: str) -> list[tuple[str, Location]]:
        evaluation = self._evaluate(_join(path, "dirs"), path)
        entries: list[tuple[str, Location]] = []
        for key in ("DIRS", "OPTIONAL_DIRS"):
            value = evaluation.macros.get(key) or Text("")
            for word, location in words(value):
                child = self._child(path, word, location, key)
                if key == "OPTIONAL_DIRS":
                    self.walk.optional_seen.append(child)
                    if not any(is_under(named, child) for named in self.selection):
                        continue
                    self.walk.optional_enabled.append(child)
                entries.append((child, location))
        return entries

    def _evaluate(self, file: str, directory: str) -> Evaluation:
        fixed = self.context.fixed_macros(directory, Pass.PASS1)
        initial = {name: Text(value) for name, value in self.context.env.items()}
        macros = Macros(fixed, obj_relative=f"obj/{self.context.config}", values=initial)
        paths = PathPolicy(self.context.root, self.context.package_roots)
        evaluation = Evaluation(macros, self.tree.read, paths, strict=self.context.strict)
        evaluation.run(file)
        self.walk.diagnostics += capped(evaluation.diagnostics, evaluation.truncated, file)
        self.walk.files += evaluation.files
        return evaluation

    def _child(self, path: str, word: str, location: Location, key: str) -> str:
        entry = word.replace("\\", "/").strip("/")
        parts = entry.split("/")
        if word.startswith(("/", "\\")) or ":" in word or any(p in ("", ".", "..") for p in parts):
            raise DescriptorError(
                f"{key} entry '{quote(word)}' is not a subdirectory",
                location=location,
                hint="entries name directories below this dirs file, e.g. lib or lib\\test",
            )
        child = _join(path, posixpath.normpath(entry))
        if child in self.listed:
            raise DescriptorError(
                f"'{quote(word)}' is listed twice",
                location=location,
                hint=f"it is already listed at {self.listed[child]}",
            )
        self.listed[child] = location
        kind = self.tree.kind(child)
        if kind is not Kind.DIR:
            what = "does not exist" if kind is Kind.MISSING else "is not a directory"
            raise DescriptorError(f"{key} names '{quote(word)}', but '{quote(child)}' {what}", location=location)
        return child


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def walk(tree: Tree, context: Context, selection: tuple[str, ...] = ()) -> Walk:
    """Walk the enlistment; `selection` names directories (enlistment-relative) that enable OPTIONAL_DIRS."""
    return Walker(tree, context, selection).run()
