"""bootstrap.py and `enlist new`: a fresh enlistment sets itself up from nothing but Python, twice as fast the
second time, and installs enlist from a checkout or from a hash-pinned wheel."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO, run_enlist

from enlist.rules.spec import ToolTree
from enlist.workspace import cache_root


def bootstrap(enlistment: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENLIST_", "VIRTUAL_ENV"))}
    return subprocess.run(
        [sys.executable, str(enlistment / "bootstrap.py"), *args],
        cwd=enlistment,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def new_enlistment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("new") / "contoso"
    result = run_enlist(["new", str(target), "--orchestrator-path", str(REPO)], cwd=REPO)
    assert result.returncode == 0, result.stderr
    return target


def test_new_writes_a_complete_skeleton(new_enlistment: Path) -> None:
    files = sorted(p.relative_to(new_enlistment).as_posix() for p in new_enlistment.rglob("*") if p.is_file())
    assert (new_enlistment / "bootstrap.py").read_bytes() == (REPO / "bootstrap.py").read_bytes()
    for expected in ("bootstrap.py", "buildconf/enlist.toml", "buildconf/requirements.lock", "dirs", ".gitignore"):
        assert expected in files
    assert "projects/hello/sources" in files
    toml = (new_enlistment / "buildconf" / "enlist.toml").read_text()
    assert 'name = "contoso"' in toml
    assert f'path = "{Path(os.path.relpath(REPO, new_enlistment)).as_posix()}"' in toml
    if (REPO / "buildconf" / "packages.lock").exists():
        assert (new_enlistment / "buildconf" / "packages.lock").read_bytes() == (
            REPO / "buildconf" / "packages.lock"
        ).read_bytes()


def test_bootstrap_sets_up_once_then_hands_over_at_once(new_enlistment: Path) -> None:
    first = bootstrap(new_enlistment, "version")
    assert first.returncode == 0, first.stderr
    assert "setting up .venv/" in first.stderr
    assert first.stdout.strip().startswith("enlist ")
    second = bootstrap(new_enlistment, "version")
    assert second.returncode == 0, second.stderr
    assert "setting up" not in second.stderr  # nothing changed: no pip, straight to enlist
    env = bootstrap(new_enlistment, "env", "--shell", "bash")
    assert f"export ENLIST_ROOT={new_enlistment}" in env.stdout
    assert "export ENLIST_NAME=contoso" in env.stdout


def test_a_changed_lock_sets_up_again(new_enlistment: Path) -> None:
    assert bootstrap(new_enlistment, "version").returncode == 0
    lock = new_enlistment / "buildconf" / "requirements.lock"
    lock.write_text(lock.read_text() + "\n# touched\n")
    again = bootstrap(new_enlistment, "version")
    assert again.returncode == 0, again.stderr
    assert "setting up .venv/" in again.stderr


def test_the_prompt_has_the_environment_and_aliases(new_enlistment: Path) -> None:
    assert bootstrap(new_enlistment, "version").returncode == 0
    script = (
        "type bcz\ntype build\necho config=$ENLIST_CONFIG root=$PWD\n"
        "setconfig fre-amd64\necho now=$ENLIST_CONFIG\nexit\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENLIST_")}
    env["ENLIST_CACHE"] = str(cache_root())  # the machine's cache, which the new HOME would otherwise move
    env["HOME"] = str(new_enlistment)  # no user ~/.bashrc in the way
    result = subprocess.run(
        [sys.executable, str(new_enlistment / "bootstrap.py")],
        cwd=new_enlistment.parent,
        env=env,
        input=script,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "bcz is aliased to `enlist build -c'" in result.stdout
    assert "build is aliased to `enlist build'" in result.stdout
    assert f"config=chk-amd64 root={new_enlistment}" in result.stdout
    assert "now=fre-amd64" in result.stdout
    assert "[contoso chk-amd64]" in result.stderr  # the prompt names enlistment and config


def test_bootstrap_reports_a_malformed_enlist_toml_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "buildconf").mkdir()
    (tmp_path / "bootstrap.py").write_bytes((REPO / "bootstrap.py").read_bytes())
    (tmp_path / "buildconf" / "enlist.toml").write_text('[enlistment]\nname = "x"\n[orchestrator\n')
    result = bootstrap(tmp_path, "version")
    assert result.returncode == 2
    assert "buildconf/enlist.toml:3: " in result.stderr
    assert "Traceback" not in result.stderr


def test_bootstrap_installs_enlist_from_a_pinned_wheel(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("enlist-*.whl")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    target = tmp_path / "fabrikam"
    made = run_enlist(["new", str(target), "--orchestrator-wheel", str(wheel), "--sha256", sha], cwd=REPO)
    assert made.returncode == 0, made.stderr
    result = bootstrap(target, "version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "enlist 0.1.0"
    site = next((target / ".venv").glob("lib/python*/site-packages"))
    assert (site / "enlist" / "cli.py").is_file()  # installed from the wheel, not linked to the checkout

    # A wheel whose bytes do not match the pin is refused by pip's hash check.
    (target / ".venv").joinpath("enlist-bootstrap.json").unlink()
    toml = target / "buildconf" / "enlist.toml"
    toml.write_text(toml.read_text().replace(sha, "0" * 64))
    bad = bootstrap(target, "version")
    assert bad.returncode == 3
    assert "pip install failed" in bad.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--orchestrator-wheel", "x.whl"], "needs --sha256"),
        (["--name", "bad name!"], "bad enlistment name 'bad name!'"),
    ],
)
def test_new_refuses_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_enlist(["new", str(tmp_path / "x"), *args], cwd=REPO)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "x").exists()


def test_new_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = run_enlist(["new", str(tmp_path)], cwd=REPO)
    assert result.returncode == 2
    assert "already exists and is not empty" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_env_refuses_a_bad_config() -> None:
    result = run_enlist(["env", "--config", "debug-x86"], cwd=REPO)
    assert result.returncode == 2
    assert "bad config 'debug-x86'" in result.stderr
    assert "hint: a config is FLAVOR-ARCH" in result.stderr


def test_a_new_enlistment_builds_its_first_program(new_enlistment: Path, tool_trees: dict[str, ToolTree]) -> None:
    built = bootstrap(new_enlistment, "build")
    assert built.returncode == 0, built.stdout + built.stderr
    hello = new_enlistment / "projects" / "hello" / "obj" / "chk-amd64" / "hello"
    ran = subprocess.run([hello], capture_output=True, text=True)
    assert ran.stdout == "hello from version 1.0.0-dev\n"
    assert (new_enlistment / "out" / "chk-amd64" / "manifest.json").is_file()
