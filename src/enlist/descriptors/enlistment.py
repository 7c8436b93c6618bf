"""The whole enlistment evaluated: walk the dirs files, evaluate every project (L1, pure).

Every project is evaluated even when an earlier one fails, so one run reports the first error of every bad
descriptor (`InputErrors`), the way a compiler reports every bad file; after MAX_ERRORS bad descriptors it
stops, so that a tree of hostile descriptors costs at most that many bounded evaluations. What the projects
keep is bounded as a whole (MAX_LOAD_ITEMS, MAX_LOAD_TEXT), since each small descriptor may keep much.
"""

from __future__ import annotations

from dataclasses import dataclass

from enlist.descriptors.context import Context
from enlist.descriptors.dirs import walk
from enlist.descriptors.limits import MAX_ERRORS, MAX_LOAD_ITEMS, MAX_LOAD_TEXT
from enlist.descriptors.sources import evaluate_project
from enlist.descriptors.tree import Tree
from enlist.errors import DescriptorError, EnlistError, Location, raise_all
from enlist.model.diagnostic import Diagnostic
from enlist.model.project import Project


@dataclass(frozen=True, slots=True)
class Enlistment:
    projects: tuple[Project, ...]  # in walk order
    diagnostics: tuple[Diagnostic, ...]  # sorted
    files: tuple[str, ...]  # every descriptor and include read, in the order first read
    optional_seen: tuple[str, ...]
    optional_enabled: tuple[str, ...]


class Kept:
    """What the projects evaluated so far keep: list entries and other macros' text."""

    def __init__(self) -> None:
        self.items = 0
        self.text = 0

    def add(self, p: Project) -> bool:
        lists = (p.sources, p.includes, p.defines, p.c_flags, p.linker_flags, p.target_libs, p.publish)
        self.items += sum(map(len, lists)) + len(p.produces) + len(p.consumes) + len(p.tests)
        self.items += len(p.tests[0].args) if p.tests else 0
        self.text += sum(len(name) + len(value) for name, value in p.macros)
        return self.items <= MAX_LOAD_ITEMS and self.text <= MAX_LOAD_TEXT

    def error(self, p: Project) -> DescriptorError:
        what = (
            f"over {MAX_LOAD_ITEMS} list entries"
            if self.items > MAX_LOAD_ITEMS
            else f"over {MAX_LOAD_TEXT} characters of macros"
        )
        return DescriptorError(
            f"the projects of this enlistment keep {what} in all; the load stops at this one",
            location=Location(p.descriptor),
            hint="is a descriptor (this one, or one before it) making entries or macros in a loop?",
        )


def evaluate_enlistment(tree: Tree, context: Context, selection: tuple[str, ...] = ()) -> Enlistment:
    walked = walk(tree, context, selection)
    projects: list[Project] = []
    errors: list[EnlistError] = []
    diagnostics = {d.sort_key: d for d in walked.diagnostics}
    files = dict.fromkeys(walked.files)
    kept = Kept()
    for directory in walked.projects:
        try:
            evaluated = evaluate_project(directory, tree.read, context)
        except EnlistError as e:
            errors.append(e)
            if len(errors) >= MAX_ERRORS:
                break
            continue
        projects.append(evaluated.project)
        if not kept.add(evaluated.project):
            errors.append(kept.error(evaluated.project))
            break
        diagnostics.update({d.sort_key: d for d in evaluated.diagnostics})
        files.update(dict.fromkeys(evaluated.files))
    raise_all(errors)
    return Enlistment(
        projects=tuple(projects),
        diagnostics=tuple(diagnostics[k] for k in sorted(diagnostics)),
        files=tuple(files),
        optional_seen=tuple(walked.optional_seen),
        optional_enabled=tuple(walked.optional_enabled),
    )
