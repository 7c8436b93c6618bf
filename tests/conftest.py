"""Shared fixtures: the repository root, a way to run enlist as a user would (a real subprocess), and the real
toolchain packages.

`tool_trees` downloads the pinned wheels (ziglang 0.17.0, re2c 4.0) with pip, from the index pip is configured with,
and unpacks each into `<cache>/test-trees/<sha256 of the wheel>/` (temp + rename, exec bits restored, under a lock
so parallel workers share one copy).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from enlist import digest
from enlist.rules.spec import ToolTree
from enlist.toolchain import cache_dir

pytest_plugins = ["toolcache_support"]

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


TEST_WHEELS = {"ziglang": "0.17.0", "re2c": "4.0"}


def _unpack(wheel: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            target = Path(archive.extract(info, tmp))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                target.chmod(mode)
    tmp.rename(dest)


def _fetch(name: str, version: str, wheels: Path) -> Path:
    found = sorted(wheels.glob(f"{name}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                f"{name}=={version}",
                "-d",
                str(wheels),
            ],
            check=True,
        )
        found = sorted(wheels.glob(f"{name}-{version}-*.whl"))
    return found[0]


@pytest.fixture(scope="session")
def tool_trees() -> dict[str, ToolTree]:
    root = cache_dir() / "test-trees"
    wheels = cache_dir() / "test-wheels"
    root.mkdir(parents=True, exist_ok=True)
    wheels.mkdir(parents=True, exist_ok=True)
    trees = {}
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for name, version in TEST_WHEELS.items():
            wheel = _fetch(name, version, wheels)
            sha = digest.of_file(wheel)
            tree = root / sha
            if not tree.is_dir():
                _unpack(wheel, tree)
            trees[name] = ToolTree(name=name, sha256=sha, path=tree.resolve().as_posix())
    return trees


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables that would leak into a build if the scrubbing failed."""
    for name in ("C_INCLUDE_PATH", "LIBRARY_PATH", "ZIG_LIB_DIR", "ZIG_LIBC"):
        monkeypatch.setenv(name, "/nonexistent-" + name.lower())
