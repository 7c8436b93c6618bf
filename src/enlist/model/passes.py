"""The build passes (L0), on their own so that the engine's models need not import the project model.
`enlist.model.project` re-exports `Pass`; both names are the same class."""

from __future__ import annotations

import enum


class Pass(enum.IntEnum):
    """Passes are labels on graph nodes, not barriers (DESIGN.md §1)."""

    PASS0 = 0  # generate: code generators, headers
    PASS1 = 1  # compile: objects, static libraries
    PASS2 = 2  # link: programs, shared libraries
    POSTBUILD = 3  # tests, packaging

    @property
    def label(self) -> str:
        return "postbuild" if self is Pass.POSTBUILD else f"pass{int(self)}"
