"""The enlistment on disk (L2): finding its root and reading `buildconf/enlist.toml`.

`buildconf/enlist.toml` (DESIGN.md §2):

    [enlistment]
    name = "enlist"            # shown in the prompt
    version = "1.0"            # official builds stamp "<version>.<build number>"
    default_config = "chk-amd64"

    [orchestrator]             # read by bootstrap.py: where enlist itself comes from
    path = "."

    [environment]
    allow = ["HOME"]           # host variables that descriptors and actions may see (none by default)

    [toolchain] / [generators.NAME] / [configs.FLAVOR]   (read by the planner; see docs/toolchain.md)

Tables that other modules own are kept as raw dictionaries in `Settings.raw` and validated by their owners.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enlist.cacheroot import cache_root
from enlist.errors import ConfigError, InputError, Location

__all__ = ["cache_root"]  # re-exported: the machine cache is part of what a workspace knows

ENLIST_TOML = Path("buildconf") / "enlist.toml"
PACKAGES_TOML = Path("buildconf") / "packages.toml"
PACKAGES_LOCK = Path("buildconf") / "packages.lock"
CONFIG_RE = re.compile(r"^(chk|fre)-([a-z0-9_]+)$")


@dataclass(frozen=True, slots=True)
class Settings:
    root: Path
    name: str
    version: str
    default_config: str
    env_allow: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


def find_root(start: Path | None = None) -> Path:
    """The enlistment containing `start` (default: $ENLIST_ROOT, else the working directory)."""
    if start is None:
        env_root = os.environ.get("ENLIST_ROOT")
        start = Path(env_root) if env_root else Path.cwd()
    start = start.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ENLIST_TOML).is_file():
            return candidate
    raise InputError(
        f"not inside an enlistment: no {ENLIST_TOML.as_posix()} in {start} or above",
        hint="run enlist from an enlistment, set ENLIST_ROOT, or create one with `enlist new DIR`",
    )


def read_toml(path: Path, shown_as: str) -> dict[str, Any]:
    """Parse a TOML file; syntax errors become `file:line: message`."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as e:
        raise ConfigError(f"{shown_as} not found", location=None) from e
    except tomllib.TOMLDecodeError as e:
        match = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = int(match.group(1)) if match else 0
        if match is None and "(at end of document)" in str(e):
            line = max(1, len(path.read_text(encoding="utf-8", errors="replace").splitlines()))
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", str(e)) or "invalid TOML"
        raise ConfigError(message, location=Location(shown_as, line), hint="fix the TOML syntax") from e


def load(root: Path | None = None) -> Settings:
    root = find_root() if root is None else root.resolve()
    shown = ENLIST_TOML.as_posix()
    data = read_toml(root / ENLIST_TOML, shown)
    table = data.get("enlistment", {})
    if not isinstance(table, dict):
        raise ConfigError("[enlistment] must be a table", location=Location(shown))
    default_config = str(table.get("default_config", "chk-amd64"))
    check_config(default_config, Location(shown))
    allow = data.get("environment", {}).get("allow", [])
    if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
        raise ConfigError("[environment] allow must be a list of variable names", location=Location(shown))
    return Settings(
        root=root,
        name=str(table.get("name", root.name)),
        version=str(table.get("version", "0.0")),
        default_config=default_config,
        env_allow=tuple(sorted(allow)),
        raw=data,
    )


def check_config(config: str, location: Location | None = None) -> tuple[str, str]:
    """Split `chk-amd64` into (flavor, arch); refuse anything else."""
    match = CONFIG_RE.match(config)
    if not match:
        raise InputError(
            f"bad config '{config}'",
            hint="a config is FLAVOR-ARCH with FLAVOR chk (debug) or fre (release), e.g. chk-amd64",
            location=location,
        )
    return match.group(1), match.group(2)


def current_config(settings: Settings, override: str | None = None) -> str:
    config = override or os.environ.get("ENLIST_CONFIG") or settings.default_config
    check_config(config)
    return config
