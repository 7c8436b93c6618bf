"""Build events: what the engine tells reporters (console, log files) while it works (L1).

Events are delivered in order on the thread that called `Builder.run`; a reporter never needs a lock. Actions
found up to date before the build starts produce no per-action events (a no-op over 10,000 actions must not
format 10,000 lines); `BuildStarted.up_to_date` counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from enlist.engine.verdict import Outcome, Reason
from enlist.model.action import Action


@dataclass(frozen=True, slots=True)
class BuildStarted:
    config: str
    selected: int  # actions this build considers
    todo: int  # of those, the ones that may need work
    jobs: int
    todo_actions: tuple[Action, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class ActionStarted:
    action: Action
    slot: int  # 1..jobs: the `n>` prefix of plain output
    reason: Reason


@dataclass(frozen=True, slots=True)
class ActionFinished:
    action: Action
    slot: int  # 0 when the action never ran a command (up to date, cached)
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ActionSkipped:
    action: Action
    cause: Action  # the failed action it needed


@dataclass(frozen=True, slots=True)
class BuildInterrupted:
    running: tuple[Action, ...]  # killed; their outputs were removed


Event = BuildStarted | ActionStarted | ActionFinished | ActionSkipped | BuildInterrupted
Reporter = Callable[[Event], None]
