"""`enlist graph` as users run it: a real process on a copy of the trio enlistment; bad input exits 2 with
`file:line:` text and never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TRIO = Path(__file__).parent / "data" / "descriptors" / "enlistments" / "trio"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    target = tmp_path / "trio"
    shutil.copytree(TRIO, target)
    return target


def enlist(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ENLIST_ROOT", "ENLIST_CONFIG")}
    result = subprocess.run(
        [sys.executable, "-m", "enlist", "graph", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert "Traceback" not in result.stderr
    return result


NEEDS = "INCLUDES public/chk-amd64/inc needs public/chk-amd64/inc"


def test_text_is_the_default(root: Path) -> None:
    result = enlist(root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "pass0",
        "  projects/replica  publishes public/chk-amd64/inc/replica.h",
        "  projects/tracker  publishes public/chk-amd64/inc/tracker.h",
        "  projects/agent    generates projects/agent/commands.re",
        "pass1",
        "  projects/replica  compiles 2 sources  LIBRARY projects/replica/obj/chk-amd64/libreplica.a"
        "  publishes public/chk-amd64/lib/libreplica.a",
        "  projects/tracker  compiles 1 source  LIBRARY projects/tracker/obj/chk-amd64/libtracker.a"
        "  publishes public/chk-amd64/lib/libtracker.a",
        f"    after projects/replica:pass0  {NEEDS}/replica.h",
        "      (projects/tracker/sources:4)",
        "  projects/agent    compiles 1 source",
        f"    after projects/replica:pass0  {NEEDS}/replica.h",
        "      (projects/agent/sources:11)",
        f"    after projects/tracker:pass0  {NEEDS}/tracker.h",
        "      (projects/agent/sources:11)",
        "pass2",
        "  projects/agent    PROGRAM projects/agent/obj/chk-amd64/agent",
        "    after projects/replica:pass1  TARGETLIBS needs public/chk-amd64/lib/libreplica.a",
        "      (projects/agent/sources:18)",
        "    after projects/tracker:pass1  TARGETLIBS needs public/chk-amd64/lib/libtracker.a",
        "      (projects/agent/sources:17)",
        "postbuild",
        "  projects/agent    tests projects/agent/obj/chk-amd64/agent",
    ]
    assert result.stderr == ""


def test_json_and_dot(root: Path) -> None:
    data = json.loads(enlist(root, "--format", "json").stdout)
    assert data["config"] == "chk-amd64"
    assert [p["dir"] for p in data["projects"]] == ["projects/agent", "projects/replica", "projects/tracker"]
    assert {"before": "projects/tracker:pass1", "after": "projects/agent:pass2"} in [
        {"before": e["before"], "after": e["after"]} for e in data["edges"]
    ]
    assert enlist(root, "--format", "json").stdout == enlist(root, "--format", "json", "--no-cache").stdout
    dot = enlist(root, "--format", "dot").stdout
    assert dot.startswith("digraph enlist {") and '"projects/tracker:pass1" -> "projects/agent:pass2"' in dot


def test_why(root: Path) -> None:
    result = enlist(root, "--why", "projects/agent", "projects/replica")
    assert result.stdout.splitlines() == [
        "projects/agent depends on projects/replica:",
        "  projects/agent:pass1 needs projects/replica:pass0",
        "    projects/agent/sources:11: INCLUDES public/chk-amd64/inc needs public/chk-amd64/inc/replica.h",
        "    projects/replica/sources:9: published here",
    ]
    assert enlist(root, "--why", "projects/replica", "projects/agent").stdout == (
        "projects/replica does not depend on projects/agent\n"
    )


def test_dirs_select_projects_and_enable_optional_ones_relative_to_the_working_directory(root: Path) -> None:
    result = enlist(root / "projects", "tools")
    assert result.returncode == 0, result.stderr
    projects = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  projects/")}
    assert projects == {"projects/tools", "projects/replica", "projects/tracker"}


def test_a_bad_descriptor_exits_2_with_file_and_line(root: Path) -> None:
    sources = root / "projects/agent/sources"
    sources.write_text(sources.read_text().replace("TARGETTYPE = PROGRAM", "TARGETTYPE = PROGRAMME"))
    (root / "projects/replica/sources").write_text("TARGETNAME = replica\n!IF 1\n")
    result = enlist(root)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "projects/agent/sources:2: unknown TARGETTYPE 'PROGRAMME'",
        "  hint: one of PROGRAM, LIBRARY, DYNLINK, NOTARGET",
        "projects/replica/sources:2: this conditional has no !ENDIF",
    ]


def test_a_cycle_exits_2(root: Path) -> None:
    # tracker compiles against replica's header, and replica now waits for tracker to finish: a cycle
    (root / "projects/replica/sources").write_text(
        (root / "projects/replica/sources").read_text() + "BUILD_CONSUMES = tracker-done\n"
    )
    (root / "projects/tracker/sources").write_text(
        (root / "projects/tracker/sources").read_text() + "BUILD_PRODUCES = tracker-done\n"
    )
    result = enlist(root)
    assert result.returncode == 2
    assert result.stderr.splitlines()[:7] == [
        "projects/replica/sources:12: dependency cycle: projects/replica:pass0 -> projects/tracker:pass1"
        " -> projects/replica:pass0",
        "  projects/replica:pass0 needs projects/tracker:pass1",
        "    projects/replica/sources:12: BUILD_CONSUMES tracker-done",
        "    projects/tracker/sources:9: BUILD_PRODUCES here",
        "  projects/tracker:pass1 needs projects/replica:pass0",
        "    projects/tracker/sources:4: INCLUDES public/chk-amd64/inc needs public/chk-amd64/inc/replica.h",
        "    projects/replica/sources:9: published here",
    ]


def test_warnings_go_to_stderr_and_strict_makes_them_errors(root: Path) -> None:
    sources = root / "projects/agent/sources"
    sources.write_text(sources.read_text() + "USER_C_FLAGS = $(USER_C_FLAGS) $(EXTRA_FLAGS)\n")
    result = enlist(root)
    assert result.returncode == 0
    assert (
        result.stderr
        == "projects/agent/sources:22: warning: undefined macro 'EXTRA_FLAGS' expands to nothing\n"
    )
    strict = enlist(root, "--strict")
    assert strict.returncode == 2
    assert strict.stderr.splitlines()[0] == "projects/agent/sources:22: undefined macro 'EXTRA_FLAGS'"


def test_usage_errors_exit_2(root: Path, tmp_path: Path) -> None:
    assert enlist(root, "--config", "debug").returncode == 2
    outside = enlist(root, "--why", "projects/agent", "/etc")
    assert (outside.returncode, outside.stderr.split(":")[0]) == (2, "error")
    unknown = enlist(root, "projects/nothere")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: 'projects/nothere' holds no project of this enlistment")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert enlist(elsewhere).returncode == 2
