"""The allowed host variables of a build are recorded in its manifest, and `enlist reproduce` sets them.

A one-program enlistment whose `[environment] allow` names BUILD_TAG (a descriptor turns it into a compiled
constant) and LAB_NAME (used by nothing). Built with BUILD_TAG=1 the manifest records it; built without, the
program differs and the manifest records `{}`. `enlist reproduce` of the first manifest, run with BUILD_TAG set
to another value or unset, and LAB_NAME set, rebuilds the same bytes with that commit's own bootstrap.py and
says what it set; a manifest written before the environment was recorded is still reproduced, with the
current environment's values, and reproduce says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.test_reproduce import commit, copy_sources, git

from enlist.rules.spec import ToolTree

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reproduce-env")]

CONFIG = "chk-amd64"
ENLISTMENT = ("bootstrap.py", "pyproject.toml", "README.md", ".gitignore", "buildconf", "src")
ALLOWED = ("BUILD_TAG", "LAB_NAME")
PROGRAM = f"public/{CONFIG}/bin/tag"
SOURCES = """TARGETNAME = tag
TARGETTYPE = PROGRAM
UMTYPE     = console

# The allowed host variable becomes a compiled constant: the program says which tag it was built with.
!IFDEF BUILD_TAG
C_DEFINES = $(C_DEFINES) -DBUILD_TAG=$(BUILD_TAG)
!ENDIF

SOURCES = main.c

PASS2_PUBLISH = {$(O)\\tag.exe=$(PUBLIC_ROOT)\\bin\\tag.exe}
"""
MAIN = """#include <stdio.h>

#ifndef BUILD_TAG
#define BUILD_TAG 0
#endif

int main(void) {
    printf("tag %d\\n", BUILD_TAG);
    return 0;
}
"""


def enlist(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m enlist ARGS` with none of the allowed variables set but those given."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("ENLIST_") and k not in ALLOWED}
    return subprocess.run(
        [sys.executable, "-m", "enlist", *args], cwd=cwd, env={**full, **env}, capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip


@dataclass(frozen=True)
class Tagged:
    base: Path
    origin: Path
    commit: str
    tagged: Path  # a copy of the manifest of the build with BUILD_TAG=1
    untagged: Path  # and of the build without it


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory, tool_trees: dict[str, ToolTree]) -> Tagged:
    base = tmp_path_factory.mktemp("tagged")
    origin = base / "origin"
    copy_sources(origin, ENLISTMENT)
    toml = origin / "buildconf" / "enlist.toml"
    toml.write_text(toml.read_text().replace("allow = []", f"allow = {json.dumps(list(ALLOWED))}"))
    (origin / "dirs").write_text("DIRS = projects\n")
    (origin / "projects" / "tag").mkdir(parents=True)
    (origin / "projects" / "dirs").write_text("DIRS = tag\n")
    (origin / "projects" / "tag" / "sources").write_text(SOURCES)
    (origin / "projects" / "tag" / "main.c").write_text(MAIN)
    git(origin, "init", "-q", "-b", "main")
    head = commit(origin, "a program built with a tag from the host", "2024-01-02T03:04:05Z")
    copies = {}
    for name, env in (("tagged", {"BUILD_TAG": "1"}), ("untagged", {})):
        done = enlist(["build", "--config", CONFIG], origin, **env)
        assert done.returncode == 0, done.stdout + done.stderr
        copies[name] = base / f"{name}.json"
        shutil.copy(origin / "out" / CONFIG / "manifest.json", copies[name])
        ran = subprocess.run([str(origin / PROGRAM)], capture_output=True, text=True, check=True)
        assert ran.stdout == f"tag {env.get('BUILD_TAG', '0')}\n"
    return Tagged(base, origin, head, copies["tagged"], copies["untagged"])


def test_the_manifest_records_the_allowed_variables_that_were_set(tagged: Tagged) -> None:
    first, second = (json.loads(m.read_text()) for m in (tagged.tagged, tagged.untagged))
    assert first["environment"] == {"BUILD_TAG": "1"}  # LAB_NAME, allowed but unset, is absent
    assert second["environment"] == {}
    assert first["published"][PROGRAM] != second["published"][PROGRAM]  # the tag is in the program
    assert {k: v for k, v in first.items() if k not in ("environment", "published")} == {
        k: v for k, v in second.items() if k not in ("environment", "published")
    }
    again = enlist(["build", "--config", CONFIG], tagged.origin, BUILD_TAG="1")  # the same values: the same bytes
    assert again.returncode == 0, again.stdout + again.stderr
    assert (tagged.origin / "out" / CONFIG / "manifest.json").read_bytes() == tagged.tagged.read_bytes()


@pytest.mark.parametrize("current", [{"BUILD_TAG": "2", "LAB_NAME": "east"}, {}], ids=["other-values", "unset"])
def test_reproduce_sets_the_recorded_variables_whatever_the_environment_holds(
    tagged: Tagged, current: dict[str, str]
) -> None:
    done = enlist(["reproduce", str(tagged.tagged)], tagged.origin, **current)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"reproduce: reproduced 1 file ({CONFIG}, commit {tagged.commit[:12]})\n"
    assert "reproduce: set BUILD_TAG=1 (as recorded)\n" in done.stderr
    unset = "reproduce: unset LAB_NAME (allowed, but not set for the recorded build)\n"
    assert (unset in done.stderr) == ("LAB_NAME" in current)
    assert "bootstrap: setting up .venv/" in done.stderr  # the commit's own enlist built it


def test_a_manifest_that_does_not_record_the_environment_is_reproduced_with_this_one(tagged: Tagged) -> None:
    older = json.loads(tagged.tagged.read_text())
    del older["environment"]  # as an enlist that did not record it wrote it
    path = tagged.base / "older.json"
    path.write_text(json.dumps(older, indent=2, sort_keys=True) + "\n")
    done = enlist(["reproduce", str(path)], tagged.origin, BUILD_TAG="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == f"reproduce: reproduced 1 file ({CONFIG}, commit {tagged.commit[:12]})\n"
    assert (
        "reproduce: the manifest does not record the allowed host variables ([environment] allow): "
        "the build sees this environment's values\n"
        "reproduce: passing BUILD_TAG=1 (this environment's value)\n"
    ) in done.stderr
