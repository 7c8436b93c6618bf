"""Razzle-style `dirs`/`sources` descriptors (L1, pure): lexer, macros, conditions, evaluation into the
project model. Nothing here touches the disk: files come through a `read(path)` function or a `Tree` (see
`dirs`), so the same code runs on a real enlistment, on a cache miss, and on the fakes of the unit tests. No
networkx here either: the no-op build path may import this package.

Entry points: `evaluate_enlistment(tree, context, selection)` and `evaluate_project(dir, read, context)`.
"""

from enlist.descriptors.context import Context
from enlist.descriptors.dirs import Kind, Tree
from enlist.descriptors.enlistment import Enlistment, evaluate_enlistment
from enlist.descriptors.sources import EvaluatedProject, evaluate_project

__all__ = [
    "Context",
    "Enlistment",
    "EvaluatedProject",
    "Kind",
    "Tree",
    "evaluate_enlistment",
    "evaluate_project",
]
