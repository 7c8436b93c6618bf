"""The whole enlistment evaluated: walk the dirs files, evaluate every project (L1, pure).

Every project is evaluated even when an earlier one fails, so one run reports the first error of every bad
descriptor (`InputErrors`), the way a compiler reports every bad file; after MAX_ERRORS bad descriptors it
stops, so that a tree of hostile descriptors costs at most that many bounded evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass

from enlist.descriptors.context import Context
from enlist.descriptors.dirs import walk
from enlist.descriptors.limits import MAX_ERRORS
from enlist.descriptors.sources import evaluate_project
from enlist.descriptors.tree import Tree
from enlist.errors import EnlistError, raise_all
from enlist.model.diagnostic import Diagnostic
from enlist.model.project import Project


@dataclass(frozen=True, slots=True)
class Enlistment:
    projects: tuple[Project, ...]  # in walk order
    diagnostics: tuple[Diagnostic, ...]  # sorted
    files: tuple[str, ...]  # every descriptor and include read, in the order first read
    optional_seen: tuple[str, ...]
    optional_enabled: tuple[str, ...]


def evaluate_enlistment(tree: Tree, context: Context, selection: tuple[str, ...] = ()) -> Enlistment:
    walked = walk(tree, context, selection)
    projects: list[Project] = []
    errors: list[EnlistError] = []
    diagnostics = {d.sort_key: d for d in walked.diagnostics}
    files = dict.fromkeys(walked.files)
    for directory in walked.projects:
        try:
            evaluated = evaluate_project(directory, tree.read, context)
        except EnlistError as e:
            errors.append(e)
            if len(errors) >= MAX_ERRORS:
                break
            continue
        projects.append(evaluated.project)
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
