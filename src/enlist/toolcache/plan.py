"""A restore as data: what is ready, what only needs unpacking, what must be fetched (L2; stat calls only).

Planning looks at the cache and changes nothing; applying the plan (`enlist.toolcache.restore`) does the work.
`enlist restore --dry-run` prints the plan.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from enlist.model.packages import Pin
from enlist.toolcache.layout import Layout


class StepKind(enum.Enum):
    READY = "ready"  # the tree is in the cache
    UNPACK = "unpack"  # the archive is in the cache, its tree is not
    FETCH = "fetch"  # the archive must be downloaded (then unpacked)


@dataclass(frozen=True, slots=True, order=True)
class Step:
    pin: Pin
    kind: StepKind

    @property
    def label(self) -> str:
        return f"{self.pin.package} {self.pin.version}"

    def describe(self) -> str:
        where = f" from feed '{self.pin.feed}'" if self.kind is StepKind.FETCH else ""
        return f"{self.kind.value:<6} {self.label} ({self.pin.platform}) {self.pin.file_name}{where}"


def plan(pins: Sequence[Pin], layout: Layout) -> tuple[Step, ...]:
    """One step per distinct archive, in pin order."""
    steps: dict[str, Step] = {}
    for pin in sorted(pins):
        if pin.sha256 in steps:
            continue
        if layout.has_tree(pin.sha256):
            kind = StepKind.READY
        elif layout.has_blob(pin.sha256):
            kind = StepKind.UNPACK
        else:
            kind = StepKind.FETCH
        steps[pin.sha256] = Step(pin, kind)
    return tuple(steps.values())
