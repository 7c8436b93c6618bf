"""Restore progress for people (L3): a rich progress bar at a terminal, plain lines otherwise (logs, CI).

Both implement `enlist.toolcache.events.RestoreEvents` and may be called from worker threads. rich is imported
only when a bar is drawn, so a restore with nothing to do never loads it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from enlist.toolcache.events import RestoreEvents, Transfer
from enlist.toolcache.plan import Step, StepKind

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def restore_events(stream: TextIO | None = None) -> RestoreEvents:
    stream = stream or sys.stderr
    if stream.isatty() and os.environ.get("TERM") != "dumb":
        return BarProgress(stream)
    return PlainProgress(stream)


def human_bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


class PlainProgress:
    """One line per event: `restore: fetch re2c 4.0 (linux-x86_64) ...`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        with self._lock:
            print(f"restore: {text}", file=self.stream, flush=True)

    def planned(self, steps: Sequence[Step]) -> None:
        fetch = sum(1 for s in steps if s.kind is StepKind.FETCH)
        unpack = sum(1 for s in steps if s.kind is StepKind.UNPACK)
        self._say(
            f"{len(steps)} package{'' if len(steps) == 1 else 's'}: {fetch} to fetch, {unpack} to unpack, "
            f"{len(steps) - fetch - unpack} ready"
        )

    def fetching(self, step: Step) -> Transfer:
        self._say(f"fetch {step.label} ({step.pin.platform}) {step.pin.file_name}")
        return Transfer(
            total=lambda n: self._say(f"  {step.label}: {human_bytes(n)}"),
            retry=lambda why: self._say(f"  {step.label}: {why}"),
        )

    def unpacking(self, step: Step) -> Transfer:
        self._say(f"unpack {step.label}")
        return Transfer()

    def done(self, step: Step) -> None:
        self._say(f"ready {step.label}")

    def close(self) -> None:
        return None


class BarProgress:
    """A rich progress bar per package, with download size and speed."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def planned(self, steps: Sequence[Step]) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TextColumn("{task.fields[state]}"),
            console=Console(file=self.stream),
            transient=False,
        )
        for step in steps:
            if step.kind is not StepKind.READY:
                self._tasks[step.pin.sha256] = self._progress.add_task(
                    step.label, total=None, state="waiting"
                )
        self._progress.start()

    def _update(self, step: Step, **fields: Any) -> None:
        if self._progress is not None and step.pin.sha256 in self._tasks:
            self._progress.update(self._tasks[step.pin.sha256], **fields)

    def fetching(self, step: Step) -> Transfer:
        self._update(step, state="fetching")

        def retry(why: str) -> None:
            self._update(step, state="retrying")
            if self._progress is not None:
                self._progress.console.print(f"[yellow]{step.label}: {why}[/]", markup=True, highlight=False)

        return Transfer(
            total=lambda n: self._update(step, total=n),
            progress=lambda n: self._update(step, completed=n),
            retry=retry,
        )

    def unpacking(self, step: Step) -> Transfer:
        self._update(step, state="unpacking", total=None, completed=0)
        return Transfer(
            total=lambda n: self._update(step, total=n), progress=lambda n: self._update(step, completed=n)
        )

    def done(self, step: Step) -> None:
        task = self._tasks.get(step.pin.sha256)
        if self._progress is not None and task is not None:
            total = next(t.total for t in self._progress.tasks if t.id == task)
            self._progress.update(task, state="ready", total=total or 1, completed=total or 1)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
