"""The log files of a build in `out/<config>/` (L3), as build.exe wrote them:

    build.log   every action that ran or came from the cache: a header line, its command, its output
    build.wrn   warnings: the planner's (`file:line: message`) and tool lines saying `warning:`, by project
    build.err   errors only: for each failed action its project, what failed and the tool's error lines
    build.json  the machine-readable summary (`enlist.console.summary`)

build.log looks like:

    1>CC projects/x/a.c  [ran: input changed: projects/x/a.h]
      $ /zig/zig cc -c projects/x/a.c -o projects/x/obj/chk-amd64/a.o
      projects/x/a.c:3:5: warning: unused variable 'n'

build.err looks like:

    projects/x: error: CC projects/x/a.c failed (exit code 1)
    projects/x: projects/x/a.c:7:1: error: expected ';' after expression

The files are written under temporary names while the build runs and renamed at its end, so each one always
belongs to one complete build. `noop_logs` renders what a no-op build writes (see `enlist.store.noop`).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any, TextIO

from enlist.canonical import pretty
from enlist.console.summary import error_lines, table, warning_lines
from enlist.engine.events import ActionFinished, ActionSkipped, ActionStarted, BuildInterrupted, Event
from enlist.engine.verdict import Verdict
from enlist.errors import EnlistError
from enlist.model.action import Action

NAMES = ("build.log", "build.wrn", "build.err", "build.json")


class LogFiles:
    def __init__(self, directory: Path, warnings: tuple[str, ...] = ()) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._dir = directory
        self._files: dict[str, TextIO] = {
            name: (directory / f"{name}.tmp").open("w", encoding="utf-8") for name in NAMES[:3]
        }
        self.warnings = 0
        for line in warnings:
            self.warn(line)

    def __call__(self, event: Event) -> None:
        log = self._files["build.log"]
        if isinstance(event, ActionStarted):
            return
        if isinstance(event, ActionSkipped):
            log.write(f"skipped {event.action.label}: needs {event.cause.label}, which failed\n")
            return
        if isinstance(event, BuildInterrupted):
            killed = ", ".join(a.label for a in event.running) or "nothing was running"
            log.write(f"interrupted; stopped: {killed}\n")
            return
        if isinstance(event, ActionFinished):
            self._finished(event)

    def _finished(self, event: ActionFinished) -> None:
        outcome, action = event.outcome, event.action
        if outcome.verdict is Verdict.UP_TO_DATE:
            return
        log = self._files["build.log"]
        log.write(f"{event.slot}>{action.label}  [{outcome.verdict.value}: {outcome.reason}]\n")
        log.write(f"  $ {command_line(action)}\n")
        for line in outcome.output.splitlines():
            log.write(f"  {line}\n")
        if outcome.message:
            log.write(f"  enlist: {outcome.message}\n")
        for line in warning_lines(outcome.output):
            self.warn(f"{action.project}: {line}")
        for line in outcome.warnings:
            self.warn(f"{action.project}: warning: {line}")
        if outcome.verdict is Verdict.FAILED:
            self._error(action, outcome.exit_code, outcome.message, outcome.output)

    def warn(self, line: str) -> None:
        self._files["build.wrn"].write(line + "\n")
        self.warnings += 1

    def _error(self, action: Action, exit_code: int | None, message: str, output: str) -> None:
        err = self._files["build.err"]
        how = f"exit code {exit_code}" if exit_code else "see below"
        err.write(f"{action.project}: error: {action.label} failed ({how})\n")
        if message:
            err.write(f"{action.project}: {message}\n")
        for line in error_lines(output):
            err.write(f"{action.project}: {line}\n")

    def finish(self, summary: dict[str, Any]) -> None:
        self._files["build.log"].write("\n" + table(summary) + "\n")
        for name, f in self._files.items():
            f.close()
            os.replace(self._dir / f"{name}.tmp", self._dir / name)
        _write(self._dir / "build.json", pretty(summary))


def write_failure(directory: Path, config: str, error: EnlistError) -> None:
    """The logs of a build that stopped before running anything (a bad descriptor, a cycle, ...)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = error.render() + "\n"
    _write(directory / "build.log", text)
    _write(directory / "build.err", text)
    _write(directory / "build.wrn", "")
    summary = {"config": config, "result": "failed", "exit_code": int(error.code), "error": error.to_json()}
    _write(directory / "build.json", pretty(summary))


def command_line(action: Action) -> str:
    if not action.argv:
        return " ".join(f"cp {src} {dest};" for src, dest in action.publish) or "(in-process)"
    text = shlex.join(action.argv)
    return text if action.cwd in (".", "") else f"cd {shlex.quote(action.cwd)} && {text}"


def noop_logs(summary: dict[str, Any], warnings: tuple[str, ...]) -> dict[str, str]:
    """The logs a no-op build writes; `summary["seconds"]` must hold the fast path's placeholder."""
    return {
        "build.log": f"nothing to do\n\n{table(summary)}\n",
        "build.wrn": "".join(line + "\n" for line in warnings),
        "build.err": "",
        "build.json": pretty(summary),
    }


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
