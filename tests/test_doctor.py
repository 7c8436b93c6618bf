"""`enlist doctor` names each problem of the machine and what to do about it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, run_enlist

from enlist.rules.spec import ToolTree
from enlist.workspace import cache_root
from feedserver import FeedServer
from toolcache_support import Enlistment, locked, packages_toml


def test_doctor_passes_on_a_good_machine(tool_trees: dict[str, ToolTree]) -> None:
    result = run_enlist(["doctor"], cwd=REPO, env={"ENLIST_CACHE": str(cache_root())})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "  ok  python: Python 3." in result.stdout
    assert f"  ok  cache: {cache_root()} is writable" in result.stdout
    assert "  ok  packages: 2 restored and unpacked in the cache" in result.stdout


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


def test_doctor_checks_the_lock_the_cache_and_the_feeds(enlistment: Enlistment, server: FeedServer, feed: Path) -> None:
    locked(enlistment, server, feed)  # pinned on the HTTP feed, nothing in the cache yet
    result = enlistment.run("doctor")
    assert result.code == 3
    assert "  ok  lock: buildconf/packages.lock matches buildconf/packages.toml" in result.out
    assert "FAIL  packages: not restored: tool 1.0" in result.out
    assert "fix: run `enlist restore`" in result.out
    assert "  ok  feeds: reachable: web" in result.out

    assert enlistment.run("restore").code == 0
    assert "  ok  packages: 1 restored and unpacked in the cache" in enlistment.run("doctor").out

    server.stop()  # the feed goes away
    down = enlistment.run("doctor")
    assert down.code == 3
    assert "FAIL  feeds: GET " in down.out and "connection failed" in down.out

    enlistment.write(packages_toml(server.url).replace('version = "1.0"', 'version = "2.0"'))
    stale = enlistment.run("doctor")
    assert "FAIL  lock: the lock does not match buildconf/packages.toml" in stale.out
    assert "fix: run `enlist lock` and commit buildconf/packages.lock" in stale.out


def test_output_cut_short_by_the_reader_is_no_error() -> None:
    import subprocess
    import sys

    pipeline = subprocess.run(
        f"{sys.executable} -m enlist --help | true", shell=True, cwd=REPO, capture_output=True, text=True
    )
    assert pipeline.returncode == 0
    assert "Traceback" not in pipeline.stderr and "BrokenPipe" not in pipeline.stderr
