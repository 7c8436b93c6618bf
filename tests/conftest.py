"""Shared fixtures: the repository root, a way to run enlist as a user would (a real subprocess), and the real
toolchain packages.

`tool_trees` restores the enlistment's own pins (ziglang, re2c) with `enlist restore`'s machinery.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from enlist.rules.spec import ToolTree

pytest_plugins = ["toolcache_support", "realkit"]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def run_enlist(
    args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m enlist ARGS` in a child process, as a user at a prompt would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ENLIST_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "enlist", *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="session")
def tool_trees() -> dict[str, ToolTree]:
    """This enlistment's real pins (zig, re2c), restored from the real index into the machine cache (once per
    machine: concurrent test workers share one copy)."""
    from enlist.toolcache.restore import restore

    packages = restore(REPO).environment.packages
    return {p.name: ToolTree(name=p.name, sha256=p.sha256, path=p.tree) for p in packages}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables that would leak into a build if the scrubbing failed."""
    for name in ("C_INCLUDE_PATH", "LIBRARY_PATH", "ZIG_LIB_DIR", "ZIG_LIBC"):
        monkeypatch.setenv(name, "/nonexistent-" + name.lower())
