"""The live console at a terminal (L3, rich): passes, running actions, progress and ETA, redrawn in place.

    pass0 3/3  pass1 117/380  pass2 0/15  postbuild 0/2
    ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 120/400  30%  ETA 0:42
     1> CC projects/x/a.c                                   1.2 s
     2> CC projects/y/b.c                                   0.3 s

Tool output, failures and skips scroll above the live area, prefixed with the worker number like the plain
console; the summary table replaces the live area at the end.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from enlist.engine.events import (
    ActionFinished,
    ActionSkipped,
    ActionStarted,
    BuildInterrupted,
    BuildStarted,
    Event,
)
from enlist.engine.verdict import Verdict
from enlist.model.action import Action


class LiveConsole:
    def __init__(self, out: TextIO, *, explain: bool = False) -> None:
        self._console = Console(file=out, highlight=False)
        self._explain = explain
        self._live: Live | None = None
        self._running: dict[int, tuple[Action, float]] = {}
        self._todo: Counter[str] = Counter()
        self._done: Counter[str] = Counter()
        self._total = 0
        self._start = time.monotonic()

    def notice(self, text: str) -> None:
        self._console.print(f"enlist: {text}", markup=False)

    def __call__(self, event: Event) -> None:
        if isinstance(event, BuildStarted):
            self._started(event)
        elif isinstance(event, ActionStarted):
            self._running[event.slot] = (event.action, time.monotonic())
        elif isinstance(event, ActionFinished):
            self._running.pop(event.slot, None)
            self._done[event.action.pass_.label] += 1
            self._finished(event)
        elif isinstance(event, ActionSkipped):
            self._done[event.action.pass_.label] += 1
            text = f"skipped: {event.action.label} (needs {event.cause.label}, which failed)"
            self._print(Text(text, "yellow"))
        elif isinstance(event, BuildInterrupted):
            killed = ", ".join(a.label for a in event.running) or "nothing was running"
            self._print(Text(f"interrupted; stopped: {killed}", "red"))

    def _started(self, event: BuildStarted) -> None:
        self._todo = Counter(a.pass_.label for a in event.todo_actions)
        self._total = event.todo
        self._start = time.monotonic()
        if event.todo:
            self._live = Live(_View(self), console=self._console, refresh_per_second=8, transient=True)
            self._live.start()

    def _finished(self, event: ActionFinished) -> None:
        outcome, action = event.outcome, event.action
        prefix = f"{event.slot}>" if event.slot else ""
        if outcome.verdict is Verdict.CACHED:
            self._print(Text(f"cached: {action.label}", "dim"))
        for line in outcome.output.splitlines():
            self._print(Text(f"{prefix}{line}"))
        if outcome.message:
            self._print(Text(f"{prefix}error: {outcome.message}", "red"))
        if outcome.verdict is Verdict.FAILED:
            how = f"exit code {outcome.exit_code}" if outcome.exit_code else "see above"
            self._print(Text(f"{prefix}error: {action.label} failed ({how})", "bold red"))
        if self._explain:
            self._print(Text(f"explain: {action.id}: {outcome.verdict.value}: {outcome.reason}", "cyan"))

    def _print(self, text: Text) -> None:
        self._console.print(text)

    def finish(self, summary: dict[str, Any]) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._console.print(_summary_table(summary))

    def view(self) -> RenderableType:
        passes = Text("  ".join(f"{p} {self._done[p]}/{n}" for p, n in sorted(self._todo.items())))
        done = sum(self._done.values())
        elapsed = time.monotonic() - self._start
        eta = "" if not done else f"  ETA {_clock(elapsed * (self._total - done) / done)}"
        line = Table.grid(padding=(0, 1))
        bar = ProgressBar(total=max(1, self._total), completed=done, width=48)
        line.add_row(bar, f"{done}/{self._total}{eta}")
        rows = Table.grid(padding=(0, 2))
        now = time.monotonic()
        for slot, (action, began) in sorted(self._running.items()):
            label = Text(action.label, overflow="ellipsis", no_wrap=True)
            rows.add_row(f"{slot:>2}>", label, f"{now - began:.1f} s")
        return Group(passes, line, rows)


class _View:
    def __init__(self, owner: LiveConsole) -> None:
        self._owner = owner

    def __rich__(self) -> RenderableType:
        return self._owner.view()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _summary_table(summary: dict[str, Any]) -> RenderableType:
    table = Table(title=f"enlist build {summary['config']}: {summary['result']} in {summary['seconds']} s")
    for name in ("pass", "ran", "cached", "up to date", "failed", "skipped"):
        table.add_column(name, justify="left" if name == "pass" else "right")
    keys = ("ran", "cached", "up_to_date", "failed", "skipped")
    for name, per in summary["passes"].items():
        table.add_row(name, *(str(per[k]) for k in keys))
    table.add_row("total", *(str(summary["counts"][k]) for k in keys), style="bold")
    return table
