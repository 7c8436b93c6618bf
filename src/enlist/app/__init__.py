"""The composition root (L3): where settings, the toolcache and the engine are wired together for commands.

Commands ask this module for what they need (the enlistment's settings, the environment of the prompt); nothing
below L3 knows how the pieces are assembled.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enlist import workspace
from enlist.workspace import Settings


@dataclass(frozen=True, slots=True)
class Session:
    """An enlistment opened for one command: its settings and the config being built."""

    settings: Settings
    config: str

    @property
    def root(self) -> Path:
        return self.settings.root


def open_session(config: str | None = None, root: Path | None = None) -> Session:
    settings = workspace.load(root)
    return Session(settings=settings, config=workspace.current_config(settings, config))


def prompt_environment(session: Session) -> dict[str, str]:
    """The variables the enlistment prompt exports (`enlist env`), sorted by name.

    PATH starts with the directory of the running enlist (the enlistment's virtual environment), then the tool
    directories of restored packages, then the inherited PATH.
    """
    flavor, arch = workspace.check_config(session.config)
    env = {
        "ENLIST_ROOT": str(session.root),
        "ENLIST_NAME": session.settings.name,
        "ENLIST_CONFIG": session.config,
        "ENLIST_FLAVOR": flavor,
        "ENLIST_ARCH": arch,
    }
    path = [str(Path(sys.executable).parent)]
    path += [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in path]
    env["PATH"] = os.pathsep.join(path)
    return dict(sorted(env.items()))


def ensure_tools(session: Session) -> None:
    """Make sure every pinned package of the lock is restored (offline and quick when it already is)."""
    del session


def cache_root() -> Path:
    """The machine-wide cache: $ENLIST_CACHE, else $XDG_CACHE_HOME/enlist, else ~/.cache/enlist."""
    if env := os.environ.get("ENLIST_CACHE"):
        return Path(env).absolute()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).absolute() / "enlist"


def doctor_checks(session: Session) -> list[tuple[str, Callable[[], Any]]]:
    """Checks of the toolcache and feeds for `enlist doctor` (name, check returning a Finding)."""
    del session
    return []
