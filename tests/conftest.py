"""Shared fixtures: the repository root and a way to run enlist as a user would (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

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
