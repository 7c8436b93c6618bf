"""Where the machine-wide cache lives (L2): `$ENLIST_CACHE`, else `$XDG_CACHE_HOME/enlist`, else
`~/.cache/enlist` (`%LOCALAPPDATA%/enlist` on Windows). Its own module, free of TOML and dataclasses, because
every build asks for it, small ones included.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_root(env: Mapping[str, str] | None = None) -> Path:
    """The cache root, as a real path (tools such as zig resolve their own location with realpath)."""
    return _configured_root(os.environ if env is None else env).resolve()


def _configured_root(env: Mapping[str, str]) -> Path:
    if env.get("ENLIST_CACHE"):
        return Path(env["ENLIST_CACHE"]).expanduser().absolute()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser().absolute() / "enlist"
    if os.name == "nt" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "enlist"
    return Path.home() / ".cache" / "enlist"
