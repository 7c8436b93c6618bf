"""Build events: what the engine tells reporters (console, log files) while it works (L1).

Events are delivered in order on the thread that called `Builder.run`; a reporter never needs a lock. Actions
found up to date before the build starts produce no per-action events (a no-op over 10,000 actions must not
format 10,000 lines); `BuildStarted.up_to_date` counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from enlist.engine.verdict import Outcome, Reason
from enlist.model.action import Action


class BuildStarted(NamedTuple):
    config: str
    selected: int  # actions this build considers
    todo: int  # of those, the ones that may need work
    jobs: int
    todo_actions: tuple[Action, ...] = ()

    def __repr__(self) -> str:  # without todo_actions, which may be thousands of actions
        return f"BuildStarted(config={self.config!r}, selected={self.selected}, todo={self.todo}, jobs={self.jobs})"


class ActionStarted(NamedTuple):
    action: Action
    slot: int  # 1..jobs: the `n>` prefix of plain output
    reason: Reason


class ActionFinished(NamedTuple):
    action: Action
    slot: int  # 0 when the action never ran a command (up to date, cached)
    outcome: Outcome


class ActionSkipped(NamedTuple):
    action: Action
    cause: Action  # the failed action it needed


class BuildInterrupted(NamedTuple):
    running: tuple[Action, ...]  # killed; their outputs were removed


Event = BuildStarted | ActionStarted | ActionFinished | ActionSkipped | BuildInterrupted
Reporter = Callable[[Event], None]
