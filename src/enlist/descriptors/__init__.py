"""Razzle-style `dirs`/`sources` descriptors (L1, pure): lexer, macros, conditions, evaluation into the
project model. Nothing here touches the disk: files come through a `read(path)` function or a `Tree` (see
`dirs`), so the same code runs on a real enlistment, on a cache miss, and on the fakes of the unit tests.

Entry points: `enlistment.evaluate_enlistment(tree, context, selection)` and
`sources.evaluate_project(dir, read, context)`, with `context.Context`. This file imports nothing, so that a
module needing one small piece (`paths.is_under`) does not load the evaluator; no networkx anywhere here.
"""
