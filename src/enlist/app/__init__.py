"""The composition root (L3): where settings, the toolcache, the loader, the planner and the engine are wired
together for commands. Nothing below L3 knows how the pieces are assembled.

- `enlist.app` (this module): opening an enlistment for one command (`Session`); kept light, since the build path
  imports it.
- `enlist.app.tools`: the restored packages: restore, zig warm-up, the prompt's environment, doctor's checks.
- `enlist.app.planning`: descriptors + packages + toolchain rules -> the plan the engine runs.
- `enlist.app.build`: one `enlist build`, wired.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # workspace imports tomllib, which a build that reuses its plan never needs
    from enlist.workspace import Settings


class Session(NamedTuple):
    """An enlistment opened for one command: its settings and the config being built."""

    settings: Settings
    config: str

    @property
    def root(self) -> Path:
        return self.settings.root


def open_session(config: str | None = None, root: Path | None = None) -> Session:
    from enlist import workspace

    settings = workspace.load(root)
    return Session(settings=settings, config=workspace.current_config(settings, config))
