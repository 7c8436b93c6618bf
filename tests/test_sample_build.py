"""The sample enlistment (replica, tracker, agent) built for real with the restored zig and re2c: a full build,
a no-op, a clean build served from the action cache, and failures that name the right project.

The enlistment is a copy of this repository's own (bootstrap.py, buildconf/, dirs, projects/) committed to a fresh
git repository in a temporary directory, so the build's stamp has a commit and nothing touches the checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import REPO, run_enlist

from enlist.rules.spec import ToolTree

pytestmark = pytest.mark.slow
CONFIG = "chk-amd64"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def copy_enlistment(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in ("bootstrap.py", "dirs", ".gitignore"):
        shutil.copy2(REPO / name, target / name)
    for name in ("buildconf", "projects"):
        shutil.copytree(REPO / name, target / name, ignore=shutil.ignore_patterns("obj", "__pycache__"))
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, "-c", "user.name=lab", "-c", "user.email=lab@example.invalid", "commit", "-q", "-m", "sample")
    return target


def build(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_enlist(["build", *args], cwd=root, env={"ENLIST_ROOT": str(root)})


def summary(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "out" / CONFIG / "build.json").read_text())
    return data


def published(root: Path) -> dict[str, bytes]:
    public = root / "public" / CONFIG
    return {p.relative_to(public).as_posix(): p.read_bytes() for p in sorted(public.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tool_trees: dict[str, ToolTree], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_enlistment(tmp_path_factory.mktemp("sample") / "enlistment")
    first = build(root)
    assert first.returncode == 0, first.stdout + first.stderr
    return root


def test_a_full_build_publishes_and_tests_everything(sample: Path) -> None:
    data = summary(sample)
    assert data["exit_code"] == 0 and data["counts"]["failed"] == 0
    tests = {t["project"]: t["result"] for t in data["tests"]}
    assert sorted(tests) == [
        "projects/agent/test",
        "projects/replica/replicad",
        "projects/replica/test",
        "projects/tracker/test",
    ]
    assert all(result.startswith("passed") for result in tests.values()), tests
    assert set(published(sample)) == {
        "bin/agent",
        "bin/replicad",
        "inc/replica.h",
        "inc/tracker.h",
        "lib/libreplica.a",
        "lib/libtracker.a",
        "lib/libtracker.so",
    }
    commit = git(sample, "rev-parse", "HEAD")
    version = subprocess.run(
        [sample / "public" / CONFIG / "bin" / "agent", "--version"], capture_output=True, text=True
    )
    assert version.stdout.strip() == f"agent 1.0.0-dev (commit {commit})"
    manifest = json.loads((sample / "out" / CONFIG / "manifest.json").read_text())
    assert manifest["revision"] == {"commit": commit, "dirty": False}
    assert sorted(manifest["published"]) == sorted(f"public/{CONFIG}/{p}" for p in published(sample))
    for path, sha256 in manifest["published"].items():
        assert sha256 == hashlib.sha256((sample / path).read_bytes()).hexdigest(), path
    commands = json.loads((sample / "compile_commands.json").read_text())
    assert any(entry["file"].endswith("projects/agent/exe/obj/chk-amd64/goal_lexer.c") for entry in commands)


def test_an_immediate_rebuild_has_nothing_to_do(sample: Path) -> None:
    again = build(sample)
    assert again.returncode == 0, again.stderr
    assert summary(sample)["counts"]["ran"] == 0
    assert "nothing to do" in build(sample).stdout


def test_a_clean_build_is_served_from_the_action_cache_with_identical_bytes(sample: Path) -> None:
    before = published(sample)
    clean = build(sample, "-c")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    counts = summary(sample)["counts"]
    assert counts["cached"] + counts["ran"] == counts["actions"], counts
    log = (sample / "out" / CONFIG / "build.log").read_text().splitlines()
    ran = [line for line in log if "  [ran: " in line]
    assert ran and all(line.split(">", 1)[1].startswith("PUBLISH ") for line in ran)  # only copies, no commands
    assert published(sample) == before


def test_the_graph_shows_replica_tracker_agent_and_the_code_generator(sample: Path) -> None:
    text = run_enlist(["graph"], cwd=sample, env={"ENLIST_ROOT": str(sample)}).stdout
    assert "projects/agent/exe         generates projects/agent/exe/goal_lexer.re" in text
    why = run_enlist(
        ["graph", "--why", "projects/agent/exe", "projects/replica/lib"], cwd=sample, env={"ENLIST_ROOT": str(sample)}
    )
    assert why.returncode == 0, why.stderr
    assert "public/chk-amd64" in why.stdout


def test_a_broken_source_fails_its_project_and_names_it(sample: Path) -> None:
    source = sample / "projects" / "tracker" / "throttle.c"
    good = source.read_text()
    source.write_text(good + "\nthis is not C;\n")
    try:
        broken = build(sample)
        assert broken.returncode == 1
        err = (sample / "out" / CONFIG / "build.err").read_text()
        assert "projects/tracker" in err and "throttle.c" in err
        data = summary(sample)
        assert data["counts"]["failed"] >= 1 and data["counts"]["skipped"] >= 1  # its dependants did not run
    finally:
        source.write_text(good)
        assert build(sample).returncode == 0


def test_a_failing_test_fails_the_build_and_names_its_project(sample: Path) -> None:
    expected = sample / "projects" / "agent" / "test" / "scripts" / "basic.out"
    good = expected.read_text()
    expected.write_text(good + "a line the agent never prints\n")
    try:
        failed = build(sample)
        assert failed.returncode == 1
        err = (sample / "out" / CONFIG / "build.err").read_text()
        assert "projects/agent/test" in err
        tests = {t["project"]: t["result"] for t in summary(sample)["tests"]}
        assert tests["projects/agent/test"].startswith("failed"), tests
    finally:
        expected.write_text(good)
        assert build(sample).returncode == 0


def ran_lines(root: Path, how: tuple[str, ...] = ("ran",)) -> list[str]:
    """`KIND target` of every action the last build ran (or served from the cache), from build.log."""
    log = (root / "out" / CONFIG / "build.log").read_text().splitlines()
    marks = tuple(f"  [{h}: " for h in how)
    return sorted(line.split(">", 1)[1].split("  [", 1)[0] for line in log if any(m in line for m in marks))


def objects_including(root: Path, header: str) -> set[str]:
    """`CC source` lines of every compile whose depfile names `header`."""
    found = set()
    for depfile in root.glob("projects/**/obj/chk-amd64/**/*.c.d"):
        text = depfile.read_text()
        if header in text:
            source = text.split(":", 1)[1].replace("\\\n", " ").split()[0]
            found.add(f"CC {source}")
    return found


def test_a_changed_header_rebuilds_exactly_the_sources_that_include_it(sample: Path) -> None:
    header = sample / "projects" / "replica" / "inc" / "replica.h"
    good = header.read_text()
    header.write_text(good + f"\n#define REPLICA_HEADER_EDITED {uuid.uuid4().int}u\n")  # never seen by any cache
    try:
        assert build(sample).returncode == 0
        compiled = {line for line in ran_lines(sample, ("ran", "cached")) if line.startswith("CC ")}
        assert compiled == objects_including(sample, "replica.h")
        assert len(compiled) > 4  # replica's own sources and its consumers through the public tree
    finally:
        header.write_text(good)
        assert build(sample).returncode == 0


def test_a_comment_edit_stops_at_early_cutoff(sample: Path) -> None:
    source = sample / "projects" / "tracker" / "throttle.c"
    good = source.read_text()
    source.write_text(good + f"/* a comment changes the text, not the object: {uuid.uuid4()} */\n")
    try:
        assert build(sample).returncode == 0
        ran = ran_lines(sample)
        assert ran and all(line.startswith("CC ") and line.endswith("throttle.c") for line in ran), ran
    finally:
        source.write_text(good)
        assert build(sample).returncode == 0


def test_ctrl_c_in_the_middle_then_a_correct_build(sample: Path) -> None:
    before = published(sample)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENLIST_")}
    env["ENLIST_ROOT"] = str(sample)
    log = sample / "out" / CONFIG / "build.log"
    started = log.stat().st_mtime_ns
    child = subprocess.Popen(
        [sys.executable, "-m", "enlist", "build", "--no-cache", "-j", "1"],
        cwd=sample,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:  # wait until compiles are under way
        if line.split(">", 1)[-1].startswith("CC "):
            break
    child.send_signal(signal.SIGINT)
    output = child.communicate(timeout=120)[0]
    assert child.returncode == 130, output
    assert log.stat().st_mtime_ns > started
    again = build(sample)
    assert again.returncode == 0, again.stdout + again.stderr
    assert published(sample) == before


@pytest.mark.parametrize(
    ("directory", "message"),
    [
        ("projects/nonexistent", "projects/nonexistent: no such directory"),
        ("projects/empty", "projects/empty: no project of this enlistment is in this directory"),
    ],
)
def test_building_a_directory_without_projects_is_an_error(sample: Path, directory: str, message: str) -> None:
    (sample / "projects" / "empty").mkdir(exist_ok=True)
    try:
        for attempt in (build(sample, directory), build(sample, directory)):  # the second one without a plan
            assert attempt.returncode == 2
            assert message in attempt.stderr
            assert "Traceback" not in attempt.stderr
    finally:
        (sample / "projects" / "empty").rmdir()
