"""Plain console output, one line per event, for logs and pipes (L3). As build.exe did with `-M`, every line
of a running action carries its worker's number:

    1>CC projects/x/a.c
    2>AR projects/x/obj/chk-amd64/libx.a
    1>projects/y/b.c:7:1: error: expected ';' after expression
    1>error: CC projects/y/b.c failed (exit code 1)
    skipped: LINK projects/y/obj/chk-amd64/y (needs CC projects/y/b.c, which failed)

Cache hits print `cached: LABEL`; with `--explain`, every decision prints `explain: ID: VERDICT: REASON`.
"""

from __future__ import annotations

from typing import Any, TextIO

from enlist.console.summary import table
from enlist.engine.events import (
    ActionFinished,
    ActionSkipped,
    ActionStarted,
    BuildInterrupted,
    BuildStarted,
    Event,
)
from enlist.engine.verdict import Verdict


class PlainConsole:
    def __init__(self, out: TextIO, *, explain: bool = False) -> None:
        self._out = out
        self._explain = explain

    def notice(self, text: str) -> None:
        self._line(f"enlist: {text}")

    def __call__(self, event: Event) -> None:
        if isinstance(event, BuildStarted):
            if self._explain and event.selected > event.todo:
                current = event.selected - event.todo
                self._line(f"explain: {current} actions up to date: none of their files changed")
            if event.todo:
                self._line(
                    f"enlist: building {event.config}: {event.todo} of {event.selected} actions to check"
                )
        elif isinstance(event, ActionStarted):
            self._line(f"{event.slot}>{event.action.label}")
        elif isinstance(event, ActionFinished):
            self._finished(event)
        elif isinstance(event, ActionSkipped):
            self._line(f"skipped: {event.action.label} (needs {event.cause.label}, which failed)")
            if self._explain:
                self._line(f"explain: {event.action.id}: skipped: needs {event.cause.id}")
        elif isinstance(event, BuildInterrupted):
            killed = ", ".join(a.label for a in event.running) or "nothing was running"
            self._line(f"enlist: interrupted; stopped: {killed}")

    def _finished(self, event: ActionFinished) -> None:
        outcome, action, prefix = event.outcome, event.action, f"{event.slot}>" if event.slot else ""
        if outcome.verdict is Verdict.CACHED:
            self._line(f"cached: {action.label}")
        for line in outcome.output.splitlines():
            self._line(f"{prefix}{line}")
        if outcome.message:
            self._line(f"{prefix}error: {outcome.message}")
        if outcome.verdict is Verdict.FAILED:
            how = f"exit code {outcome.exit_code}" if outcome.exit_code else "see above"
            self._line(f"{prefix}error: {action.label} failed ({how})")
        if self._explain:
            self._line(f"explain: {action.id}: {outcome.verdict.value}: {outcome.reason}")

    def finish(self, summary: dict[str, Any]) -> None:
        self._line(table(summary))

    def _line(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()
