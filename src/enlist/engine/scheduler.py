"""The scheduler: which action may start next (L1, a pure state machine; the builder drives it).

Topological over the actions it is given, critical path first (highest priority ready action wins, plan order
breaks ties so runs are repeatable). Keep-going by default: when an action fails, everything that depends on
it, directly or not, is skipped and remembered with the failure that caused it; independent work goes on. With
`fail_fast`, the first failure stops new starts (running actions finish).

Actions outside `todo` count as already done: the builder hands over only the actions that may need work.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Sequence

from enlist.engine.dag import Dag


class Scheduler:
    def __init__(
        self, dag: Dag, todo: Collection[int], priority: Sequence[float], *, fail_fast: bool = False
    ) -> None:
        self._dag = dag
        self._todo = frozenset(todo)
        self._priority = priority
        self._fail_fast = fail_fast
        self._waiting = {i: sum(1 for d in dag.deps[i] if d in self._todo) for i in self._todo}
        self._ready: list[tuple[float, int]] = [(-priority[i], i) for i, n in self._waiting.items() if n == 0]
        heapq.heapify(self._ready)
        self._running: set[int] = set()
        self._started: set[int] = set()
        self.failed: list[int] = []
        self.skipped: dict[int, int] = {}  # skipped action -> the failed action that caused it
        self.stopped = False

    def next(self) -> int | None:
        """The ready action to start now, or None (nothing ready, or stopped)."""
        if self.stopped or not self._ready:
            return None
        _, i = heapq.heappop(self._ready)
        self._running.add(i)
        self._started.add(i)
        return i

    def finish(self, i: int, ok: bool) -> list[int]:
        """Record the end of a started action; returns the actions this newly skips."""
        self._running.discard(i)
        if ok:
            for j in self._dag.dependants[i]:
                if j in self._waiting and j not in self.skipped:
                    self._waiting[j] -= 1
                    if self._waiting[j] == 0:
                        heapq.heappush(self._ready, (-self._priority[j], j))
            return []
        self.failed.append(i)
        if self._fail_fast:
            self.stopped = True
        return self._skip_dependants(i)

    def cancel(self, i: int) -> None:
        """Forget a started action that did not complete (interrupted, or never run after a stop)."""
        self._running.discard(i)
        self._started.discard(i)

    def stop(self) -> None:
        self.stopped = True

    def _skip_dependants(self, cause: int) -> list[int]:
        newly: list[int] = []
        stack = [cause]
        while stack:
            for j in self._dag.dependants[stack.pop()]:
                if j in self._waiting and j not in self.skipped:
                    self.skipped[j] = cause
                    newly.append(j)
                    stack.append(j)
        return sorted(newly)

    @property
    def running(self) -> frozenset[int]:
        return frozenset(self._running)

    def done(self) -> bool:
        """Nothing is running and nothing more will start."""
        if self._running:
            return False
        return self.stopped or not self._ready

    def unstarted(self) -> list[int]:
        """Actions that neither started nor were skipped (after a stop or an interrupt)."""
        return sorted(self._todo - self._started - self.skipped.keys())
