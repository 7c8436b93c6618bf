"""What a restore reports while it works (L2; stdlib only).

`RestoreEvents` is the seam between the toolcache and whoever shows progress: `enlist.console.progress` draws
a progress bar at a terminal and plain lines elsewhere; tests and library callers use `NullEvents`. Methods
may be called from worker threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from enlist.toolcache.plan import Step


def _ignore(_: object) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Transfer:
    """Callbacks of one download or unpack: its size once known, the bytes done so far, and retries."""

    total: Callable[[int], None] = _ignore
    progress: Callable[[int], None] = _ignore
    retry: Callable[[str], None] = _ignore


class RestoreEvents(Protocol):
    def planned(self, steps: Sequence[Step]) -> None: ...

    def fetching(self, step: Step) -> Transfer: ...

    def unpacking(self, step: Step) -> Transfer: ...

    def done(self, step: Step) -> None: ...

    def close(self) -> None: ...


class NullEvents:
    def planned(self, steps: Sequence[Step]) -> None:
        del steps

    def fetching(self, step: Step) -> Transfer:
        del step
        return Transfer()

    def unpacking(self, step: Step) -> Transfer:
        del step
        return Transfer()

    def done(self, step: Step) -> None:
        del step

    def close(self) -> None:
        return None
