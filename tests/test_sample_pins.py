"""The pins of this repository's own buildconf (zig and re2c wheels) restore from the real package index and
run.

The cache is shared by the whole test session, and taken from ENLIST_CACHE when set, so CI downloads zig once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from enlist.toolcache import check

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("ENLIST_CACHE")
    return Path(configured) if configured else tmp_path_factory.mktemp("enlist-cache")


@pytest.fixture(scope="session")
def sample_restore(sample_cache: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ENLIST_ROOT": str(ROOT),
        "ENLIST_CACHE": str(sample_cache),
        "PIP_CONFIG_FILE": os.devnull,
    }
    env.pop("ENLIST_PLATFORM", None)
    return subprocess.run(
        [sys.executable, "-m", "enlist", "restore"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_the_sample_lock_matches_its_packages_toml() -> None:
    env = {**os.environ, "ENLIST_ROOT": str(ROOT), "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run(
        [sys.executable, "-m", "enlist", "lock", "--check"], env=env, capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "lock: buildconf/packages.lock is up to date\n"), done.stderr


@pytest.mark.slow
def test_zig_and_re2c_restore_from_the_package_index_and_run(
    sample_restore: subprocess.CompletedProcess[str], sample_cache: Path
) -> None:
    assert sample_restore.returncode == 0, sample_restore.stderr
    env = dict(check.require_restored(ROOT, cache=sample_cache).env)
    zig = subprocess.run([env["ZIG"], "version"], capture_output=True, text=True)
    assert zig.stdout.strip() == "0.17.0"
    re2c = subprocess.run([env["RE2C"], "--version"], capture_output=True, text=True)
    assert re2c.stdout.strip() == "re2c 4.0"
    assert Path(env["RE2C_INCLUDE"]).is_dir()
    assert env["PkgZiglang"] == env["PkgZiglang_0_17"] and env["ZIG"].startswith(env["PkgZiglang_0_17_0"])
