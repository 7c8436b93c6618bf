"""Running actions' commands (L2): `enlist.engine.ports.Executor` and `Workers` for real.

A command runs with exactly the environment its action declares (the planner scrubbed it) plus `TZ=UTC`
and `LC_ALL=C`, umask 022, stdin closed, stdout and stderr captured together, in the action's working
directory, in a process group of its own: a terminal's Ctrl-C reaches enlist only, and enlist stops the
whole group (SIGTERM, then SIGKILL after `GRACE_SECONDS`), so no compiler outlives an interrupted build.
Each command also inherits the descriptors in `inherit` (the tree's `commands` lock): should enlist itself
be killed with SIGKILL, the next build waits until its commands are gone too (see `enlist.store.lock`).
Missing output directories are created first, as ninja does, and old outputs are deleted: the action cache
may hold them by hard link, and a stale output must never pass for a new one.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from enlist.engine.ports import Execution
from enlist.model.action import Action

T = TypeVar("T")
FORCED_ENV = (("LC_ALL", "C"), ("TZ", "UTC"))
UMASK = 0o022
GRACE_SECONDS = 2.0


class SubprocessExecutor:
    def __init__(self, root: Path, *, inherit: tuple[int, ...] = ()) -> None:
        self._root = root
        self._inherit = inherit
        self._lock = threading.Lock()
        self._running: dict[int, subprocess.Popen[bytes]] = {}
        self._cancelled = False
        self._dirs: set[str] = set()  # output directories known to exist

    def run(self, action: Action) -> Execution:
        env = dict(action.env)
        env.update(FORCED_ENV)
        start = time.monotonic()
        try:
            for out in action.outputs:
                parent = os.path.dirname(out)
                if parent not in self._dirs:
                    (self._root / parent).mkdir(parents=True, exist_ok=True)
                    self._dirs.add(parent)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._root / out)  # a command never writes through an old output's inode
            if action.depfile:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._root / action.depfile)  # a stale depfile must not pass for a new one
            with self._lock:
                if self._cancelled:
                    return Execution(-1, b"", 0.0, killed=True)
                proc = subprocess.Popen(
                    action.argv,
                    cwd=self._root / action.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    process_group=0,
                    umask=UMASK,
                    pass_fds=self._inherit,
                )
                self._running[proc.pid] = proc
        except OSError as e:
            tool = action.argv[0] if action.argv else "(empty command)"
            message = f"enlist: cannot run {tool}: {e.strerror}\n"
            return Execution(127, message.encode(), time.monotonic() - start)
        try:
            output, _ = proc.communicate()
        finally:
            with self._lock:
                self._running.pop(proc.pid, None)
        seconds = time.monotonic() - start
        killed = self._cancelled and proc.returncode != 0
        if proc.returncode != 0:
            self._remove_temporaries(action)
        if self._cancelled:
            _signal_groups([proc.pid], signal.SIGKILL)  # whatever the command left behind in its group
        elif action.stdout is not None:  # a test's result: its output, kept whether it passed or not
            from enlist.fsio import write_atomic  # here: tempfile costs more than a small build's bookkeeping

            try:
                write_atomic(self._root / action.stdout, output)
            except OSError as e:  # a full disk: the action fails, saying why, and the build goes on
                output += f"enlist: cannot write {action.stdout}: {e.strerror}\n".encode()
                return Execution(proc.returncode or 1, output, seconds)
        return Execution(proc.returncode, output, seconds, killed=killed)

    def _remove_temporaries(self, action: Action) -> None:
        """A failed or killed tool may leave the temporary it writes before renaming onto its output
        (`<output>.tmp<random>`, as lld does when the disk fills): nothing half-written stays in the tree."""
        for out in action.outputs:
            target = self._root / out
            try:
                names = os.listdir(target.parent)
            except OSError:
                continue
            for name in names:
                if name.startswith(target.name + ".tmp"):
                    with contextlib.suppress(OSError):
                        os.unlink(target.parent / name)

    def cancel(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            self._cancelled = True
            pids = list(self._running)
        _signal_groups(pids, signal.SIGTERM)
        timer = threading.Timer(GRACE_SECONDS, self._kill_remaining)
        timer.daemon = True
        timer.start()

    def _kill_remaining(self) -> None:
        with self._lock:
            pids = list(self._running)
        _signal_groups(pids, signal.SIGKILL)


def _signal_groups(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ThreadWorkers(Generic[T]):
    """`jobs` daemon threads running submitted callables; results come back in completion order."""

    def __init__(self, jobs: int) -> None:
        self._jobs = max(1, jobs)
        self._todo: queue.SimpleQueue[Callable[[], T] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[T | _Failure] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def submit(self, job: Callable[[], T]) -> None:
        if len(self._threads) < self._jobs:
            name = f"enlist-worker-{len(self._threads) + 1}"
            thread = threading.Thread(target=self._work, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._todo.put(job)

    def next_done(self) -> T:
        item = self._done.get()
        if isinstance(item, _Failure):
            raise item.error
        return item

    def close(self) -> None:
        for _ in self._threads:
            self._todo.put(None)
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    def _work(self) -> None:
        while (job := self._todo.get()) is not None:
            try:
                self._done.put(job())
            except BaseException as e:  # handed to the main thread, which re-raises it
                self._done.put(_Failure(e))
