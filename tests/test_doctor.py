"""`enlist doctor` names each problem of the machine and what to do about it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, run_enlist


def test_doctor_passes_on_a_good_machine(tmp_path: Path) -> None:
    result = run_enlist(["doctor"], cwd=REPO, env={"ENLIST_CACHE": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  ok  python: Python 3." in result.stdout
    assert f"  ok  cache: {tmp_path / 'cache'} is writable" in result.stdout


def test_doctor_reports_an_unwritable_cache_with_a_fix(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_enlist(["doctor"], cwd=REPO, env={"ENLIST_CACHE": str(blocker / "cache")})
    assert result.returncode == 3
    assert f"FAIL  cache: {blocker / 'cache'} is not writable" in result.stdout
    assert "fix: set ENLIST_CACHE to a writable directory" in result.stdout
    assert "Traceback" not in result.stderr


def test_doctor_outside_an_enlistment_says_where_it_looked(tmp_path: Path) -> None:
    result = run_enlist(["doctor"], cwd=tmp_path)
    assert result.returncode == 2
    assert f"not inside an enlistment: no buildconf/enlist.toml in {tmp_path.resolve()} or above" in result.stderr
