"""The seams of the engine: everything it needs from the outside world, as Protocols (L1).

The engine is pure orchestration: it reads files, runs commands, talks to caches and spreads work over threads
only through these. The real implementations are `enlist.store.files.TreeFiles`,
`enlist.store.local.LocalStore`, `enlist.execute.SubprocessExecutor`, `enlist.execute.ThreadWorkers` and
`enlist.publish.TreePublisher`; unit tests pass fakes. A remote cache is one more `Store`.

Paths given to `Files` and `Publisher` are engine paths (enlistment-relative POSIX, or absolute outside the
enlistment); paths given to `Store` are absolute.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol, TypeVar

from enlist.model.action import Action

T = TypeVar("T")


class Files(Protocol):
    def absolute(self, path: str) -> str: ...

    def changed(self, path: str) -> bool:
        """True when the file's stat signature differs from the last build's record (or it has none)."""
        ...

    def changed_among(self, paths: Iterable[str]) -> set[str]:
        """The paths that `changed`, in one tight loop: this is most of a build with little to do."""
        ...

    def scanned(self) -> set[str] | None:
        """The changed files among everything the build watches, when a complete scan was already made (by
        the no-op check, see `enlist.store.noop`); None otherwise."""
        ...

    def digest(self, path: str) -> str | None:
        """The content digest (from the stat cache when the file is unchanged); None if it does not exist."""
        ...

    def previous_digest(self, path: str) -> str | None:
        """The digest the last build recorded for the file, if any (for explanations only)."""
        ...

    def produced(self, path: str) -> str | None:
        """Digest a file an action has just written (always hashed; trusted from now on); None if missing."""
        ...

    def restored(self, path: str, digest: str) -> None:
        """Record a file just written with known content (a cache restore, a publish copy)."""
        ...

    def is_executable(self, path: str) -> bool: ...

    def read_text(self, path: str) -> str | None: ...

    def remove(self, path: str) -> None: ...


class Store(Protocol):
    """An action cache and a CAS (a local directory; later, a Bazel-style HTTP cache)."""

    def get_entry(self, key: str) -> bytes | None: ...

    def put_entry(self, key: str, data: bytes) -> None: ...

    def put_file(self, path: str, digest: str) -> None:
        """Store the file at absolute `path`, whose content has digest `digest`."""
        ...

    def put_bytes(self, data: bytes) -> str: ...

    def get_bytes(self, digest: str) -> bytes | None: ...

    def fetch_file(self, digest: str, path: str, executable: bool) -> bool:
        """Write the blob to absolute `path` atomically; False when the store does not have it."""
        ...


class Execution(NamedTuple):
    exit_code: int
    output: bytes  # stdout and stderr, interleaved as written
    seconds: float
    killed: bool = False  # stopped by an interrupt: its outputs are never cached nor published


class Executor(Protocol):
    def run(self, action: Action) -> Execution:
        """Run the action's command to completion (called from worker threads)."""
        ...

    def cancel(self) -> None:
        """Kill every running command and refuse new ones (Ctrl-C)."""
        ...


class Publisher(Protocol):
    def publish(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Copy each `src` to `dest`, every dest replaced atomically; raises EnlistError."""
        ...


class Workers(Protocol[T]):
    def submit(self, job: Callable[[], T]) -> None: ...

    def next_done(self) -> T:
        """Block until some submitted job completes and return its result (re-raising its exception)."""
        ...
