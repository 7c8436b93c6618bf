"""Reproducibility proven on the sample enlistment with the real toolchain (DESIGN.md §8).

A history of three commits of this repository's own enlistment (orchestrator, buildconf, sample projects):
the sample; a later commit that changes its sources; a third that adds a deliberately non-deterministic code
generator (a tool that writes the time into a header). On it:

- `enlist reproduce` of the first commit's manifest, fetched over HTTP, run at the second commit: that
  commit's own bootstrap.py sets up the historic enlist, which rebuilds everything with no cache, bit for bit;
- two clones at other paths, with other caches (one with the toolchain at another path), HOME, TZ, umask,
  locale and -j, build byte-identical files and manifests;
- `enlist build --check` and `enlist reproduce` both catch the clock, name it, and show the difference;
- a pin gone from its feed is named before anything is set up.

The builds are shared through module fixtures: the history is built once per commit.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import REPO, run_enlist

from enlist.rules.spec import ToolTree
from enlist.toolcache.store import make_writable
from enlist.workspace import cache_root
from feedserver import FeedServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("reproduce")]

CONFIG = "chk-amd64"
ENLISTMENT = ("bootstrap.py", "pyproject.toml", "README.md", ".gitignore", "dirs", "buildconf", "src", "projects")
NOT_SOURCES = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "obj")
DIFFOSCOPE = ("diffoscope==332", "defusedxml==0.7.1")
CLOCK_TOOL = """#!/bin/sh
# clock INPUT OUTPUT: a header that records when it was generated (deliberately not reproducible).
printf '/* generated from %s */\\n#define BUILT_AT "%s"\\n' "$1" "$(date +%s.%N)" > "$2"
"""
CLOCK_GENERATOR = """
[generators.clock]
extensions = [".clock"]
package = "clock"
tool = "bin/clock"
argv = ["{tool}", "{input}", "{output}"]
outputs = ["{stem}.h"]
env = { PATH = "/usr/bin:/bin" }
"""
CLOCK_SOURCES = """!INCLUDE $(PROJROOT)\\projects\\common.inc

TARGETNAME = clock
TARGETTYPE = PROGRAM
UMTYPE     = console

SOURCES = \\
    built.clock \\
    main.c \\

PASS0_PUBLISH = {$(O)\\built.h=$(PUBLIC_INC)\\built.h}
PASS2_PUBLISH = {$(O)\\clock.exe=$(PUBLIC_BIN)\\clock.exe}
"""
CLOCK_MAIN = """#include <stdio.h>
#include "built.h"

int main(void) {
    printf("built at %s\\n", BUILT_AT);
    return 0;
}
"""


def git(root: Path, *args: str, when: str = "2024-01-02T03:04:05Z") -> str:
    env = {
        "GIT_AUTHOR_NAME": "Builder",
        "GIT_AUTHOR_EMAIL": "builder@example.invalid",
        "GIT_COMMITTER_NAME": "Builder",
        "GIT_COMMITTER_EMAIL": "builder@example.invalid",
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "PATH": os.environ["PATH"],
        "HOME": str(root),
    }
    return subprocess.run(["git", "-C", str(root), *args], env=env, check=True, capture_output=True, text=True).stdout


def commit(root: Path, message: str, when: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message, when=when)
    return git(root, "rev-parse", "HEAD").strip()


def build(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    done = run_enlist(["build", "--config", CONFIG, *args], cwd=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def published(root: Path) -> dict[str, tuple[bytes, int]]:
    public = root / "public" / CONFIG
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(public.rglob("*"))
        if p.is_file()
    }


@dataclass(frozen=True)
class History:
    base: Path
    origin: Path
    commits: tuple[str, ...]
    manifests: tuple[Path, ...]  # a copy of each commit's manifest


def copy_sources(origin: Path, names: tuple[str, ...]) -> None:
    """Copy these top-level files and folders of this repository into a new folder `origin`, sources only."""
    origin.mkdir(parents=True)
    for name in names:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, origin / name, ignore=NOT_SOURCES)
        else:
            shutil.copy2(source, origin / name)


OFFICIAL = ("--official", "--build-number", "41")  # the first commit's lab build: every action runs, no cache


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, tool_trees: dict[str, ToolTree]) -> History:
    base = tmp_path_factory.mktemp("history")
    origin = base / "origin"
    copy_sources(origin, ENLISTMENT)
    git(origin, "init", "-q", "-b", "main")
    first = commit(origin, "the sample enlistment", "2024-01-02T03:04:05Z")
    build(origin, *OFFICIAL)  # the lab build whose record is reproduced later
    shutil.copy(origin / "out" / CONFIG / "manifest.json", base / "first.json")
    header = origin / "projects" / "replica" / "inc" / "replica.h"
    header.write_text(header.read_text() + "/* A later commit changed this header. */\n")
    second = commit(origin, "a later change to the sources", "2024-02-03T04:05:06Z")
    build(origin)
    shutil.copy(origin / "out" / CONFIG / "manifest.json", base / "second.json")
    return History(base, origin, (first, second), (base / "first.json", base / "second.json"))


def test_reproduce_rebuilds_an_older_commit_bit_for_bit_with_its_own_bootstrap(history: History) -> None:
    first, second = (json.loads(m.read_text()) for m in history.manifests)
    assert first["build"] == {"build_number": 41, "official": True, "version": "1.0.41"}
    assert first["revision"]["commit"] != second["revision"]["commit"]
    changed = sorted(p for p in first["published"] if first["published"][p] != second["published"][p])
    assert changed == [  # the header, and what links the stamp (it names the commit)
        f"public/{CONFIG}/bin/agent",
        f"public/{CONFIG}/bin/replicad",
        f"public/{CONFIG}/inc/replica.h",
        f"public/{CONFIG}/lib/libtracker.so",
    ]

    feed = history.base / "feed"
    (feed / "builds").mkdir(parents=True)
    shutil.copy(history.manifests[0], feed / "builds" / "manifest.json")
    tmp = history.base / "tmp"
    tmp.mkdir()
    with FeedServer(feed) as server:
        done = run_enlist(
            ["reproduce", f"{server.url}builds/manifest.json"], cwd=history.origin, env={"TMPDIR": str(tmp)}
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(first["published"]) == 7
    assert done.stdout == f"reproduce: reproduced 7 files ({CONFIG}, commit {history.commits[0][:12]})\n"
    assert f"checking out {history.commits[0][:12]} in {tmp}/enlist-reproduce-" in done.stderr
    assert "bootstrap: setting up .venv/" in done.stderr  # the historic enlist, installed from that commit
    assert "total       38" in done.stderr  # every action ran: nothing came from a cache
    assert list(tmp.iterdir()) == []  # the temporary checkout is gone
    assert git(history.origin, "worktree", "list").count("\n") == 1  # and the repository was not touched


@pytest.fixture(scope="module")
def other_cache(tool_trees: dict[str, ToolTree]) -> Path:
    """A second cache that holds the toolchain at another path (hard links of the restored trees), as another
    machine would after `enlist restore`. It is kept, once per machine like the restored trees, because zig
    builds its libc afresh for a toolchain at a new path (40-80 s)."""
    cache = cache_root() / "test-other-cache"
    for tree in tool_trees.values():
        target = cache / "toolcache" / "trees" / tree.sha256[:2] / tree.sha256
        if not target.is_dir():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f"{tree.sha256}.{os.getpid()}.tmp")
            shutil.copytree(tree.path, partial, symlinks=True, copy_function=_link_or_copy)
            try:
                partial.rename(target)  # whole or not at all, even with another test session at work
            except OSError:
                make_writable(partial)
                shutil.rmtree(partial)
    zig = tool_trees["ziglang"].sha256
    (cache / "zig" / zig).mkdir(parents=True, exist_ok=True)
    for marker in (cache_root() / "zig" / zig).glob("enlist-warm-*"):  # no warm-up of every flavor: chk only
        shutil.copy(marker, cache / "zig" / zig / marker.name)
    return cache


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def test_two_clones_with_other_paths_caches_and_settings_build_identical_bytes(
    history: History, other_cache: Path
) -> None:
    x = history.base / "x" / "enl"
    y = history.base / "y" / "a much" / "deeper" / "place"
    git(history.base, "clone", "-q", str(history.origin), str(x))
    y.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", str(history.origin), str(y)], check=True, umask=0o077)
    for clone in (x, y):
        git(clone, "checkout", "-q", "--detach", history.commits[0])
    settings = {
        x: {"ENLIST_CACHE": str(cache_root()), "HOME": str(history.base / "home-x"), "TZ": "XST-14",
            "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        y: {"ENLIST_CACHE": str(other_cache), "HOME": str(history.base / "home-y"), "TZ": "YST+11",
            "LC_ALL": "POSIX", "LANG": "POSIX"},
    }  # fmt: skip
    umasks = {x: 0o027, y: 0o077}
    jobs = {x: "1", y: "3"}  # another schedule, too
    builds = {
        clone: subprocess.Popen(
            [sys.executable, "-m", "enlist", "build", *OFFICIAL, "--config", CONFIG, "-j", jobs[clone]],
            cwd=clone,
            env={**{k: v for k, v in os.environ.items() if not k.startswith("ENLIST_")}, **settings[clone]},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            umask=umasks[clone],
        )
        for clone in (x, y)
    }
    for proc in builds.values():
        out, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, out
        assert "total       38" in out  # no cache: every action ran
    assert str(other_cache) in (y / "out" / CONFIG / "build.log").read_text()  # y's zig ran from its own cache
    manifest = history.manifests[0].read_bytes()
    assert (x / "out" / CONFIG / "manifest.json").read_bytes() == manifest
    assert (y / "out" / CONFIG / "manifest.json").read_bytes() == manifest
    files_x, files_y = published(x), published(y)
    assert len(files_x) == 7
    assert files_x == files_y  # bytes and modes

    # The same tree built with another cache runs that cache's tools: the plan names them, so it is made again.
    again = build(x, *OFFICIAL, ENLIST_CACHE=str(other_cache))
    log = (x / "out" / CONFIG / "build.log").read_text()
    assert str(other_cache) in log and str(cache_root() / "toolcache") not in log, again.stdout
    assert (x / "out" / CONFIG / "manifest.json").read_bytes() == manifest


@pytest.fixture(scope="module")
def clock(history: History) -> tuple[History, subprocess.CompletedProcess[str]]:
    """A third commit with the clock generator, its tool on a folder feed; built with `--check`."""
    lab = history.base / "lab"
    tool = history.base / "clock-tool"
    (tool / "bin").mkdir(parents=True)
    (tool / "bin" / "clock").write_text(CLOCK_TOOL)
    (tool / "bin" / "clock").chmod(0o755)
    (lab / "clock" / "1.0").mkdir(parents=True)
    subprocess.run(["tar", "czf", str(lab / "clock/1.0/clock-1.0.tar.gz"), "-C", str(tool), "bin"], check=True)
    origin = history.origin
    with (origin / "buildconf" / "packages.toml").open("a") as f:
        f.write(f'\n[feeds.lab]\nurl = "{lab.as_uri()}"\n\n[[package]]\nname = "clock"\nversion = "1.0"\n')
        f.write('feed = "lab"\nfile = "{name}/{version}/{name}-{version}.tar.gz"\n')
    with (origin / "buildconf" / "enlist.toml").open("a") as f:
        f.write(CLOCK_GENERATOR)
    (origin / "projects" / "clock").mkdir()
    (origin / "projects" / "clock" / "sources").write_text(CLOCK_SOURCES)
    (origin / "projects" / "clock" / "built.clock").write_text("when this program was built\n")
    (origin / "projects" / "clock" / "main.c").write_text(CLOCK_MAIN)
    dirs = origin / "projects" / "dirs"
    dirs.write_text(dirs.read_text().replace("    agent \\\n", "    agent \\\n    clock \\\n"))
    locked = run_enlist(["lock"], cwd=origin)
    assert locked.returncode == 0, locked.stderr
    third = commit(origin, "a generator that writes the time", "2024-03-04T05:06:07Z")
    checked = run_enlist(["build", "--config", CONFIG, "--check"], cwd=origin, env={"ENLIST_DIFFOSCOPE": "none"})
    return History(history.base, origin, (*history.commits, third), history.manifests), checked


def test_check_names_the_generator_that_writes_the_time(
    clock: tuple[History, subprocess.CompletedProcess[str]],
) -> None:
    _, checked = clock
    assert checked.returncode == 1, checked.stdout + checked.stderr
    out = checked.stdout
    assert (
        "check: 5 of 39 actions gave different outputs in a second build with no cache in another directory; "
        "4 test logs not compared:\n"
    ) in out
    assert (
        "  not deterministic (same inputs, different outputs):\n"
        "    GEN(clock) projects/clock/built.clock  [projects/clock:generate:built.clock]\n"
        "      file                                  first         second\n"
    ) in out
    named = re.findall(r"^    \S.*\[(\S+)\]$", out, re.MULTILINE)
    assert named == [
        "projects/clock:generate:built.clock",
        "projects/clock:compile:main.c",
        "projects/clock:link",
        "projects/clock:publish:pass0",
        "projects/clock:publish:pass2",
    ]  # every other action of the sample gave identical outputs
    assert "--- first/projects/clock/obj/chk-amd64/built.h\n+++ second/projects/clock/obj/chk-amd64/built.h\n" in out
    assert re.search(r'^-#define BUILT_AT "\d+\.\d+"\n\+#define BUILT_AT "\d+\.\d+"$', out, re.MULTILINE)


@pytest.fixture(scope="session")
def diffoscope_program() -> str:
    """diffoscope from PATH, else installed once per machine into a virtual environment of the test cache."""
    found = shutil.which("diffoscope")
    if found:
        return found
    home = cache_root() / "test-tools" / "diffoscope-332"
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / "diffoscope.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "complete").is_file():
            shutil.rmtree(home, ignore_errors=True)
            venv.EnvBuilder(with_pip=True).create(home)
            pip = [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            subprocess.run([*pip, *DIFFOSCOPE], check=True, capture_output=True, timeout=900)
            (home / "complete").write_text("")
    return str(home / "bin" / "diffoscope")


def test_reproduce_shows_what_the_clock_changed_with_diffoscope(
    clock: tuple[History, subprocess.CompletedProcess[str]], diffoscope_program: str
) -> None:
    history, _ = clock
    manifest = history.origin / "out" / CONFIG / "manifest.json"
    done = run_enlist(["reproduce", str(manifest)], cwd=history.origin, env={"ENLIST_DIFFOSCOPE": diffoscope_program})
    assert done.returncode == 1, done.stdout + done.stderr
    table = (
        f"reproduce: 2 of 9 files differ ({CONFIG}, commit {history.commits[2][:12]}):\n"
        "  file                          recorded      reproduced\n"
    )
    assert table in done.stdout
    rows = re.findall(r"^  (public/\S+)  +[0-9a-f]{12}  [0-9a-f]{12}$", done.stdout, re.MULTILINE)
    assert rows == [f"public/{CONFIG}/bin/clock", f"public/{CONFIG}/inc/built.h"]
    # diffoscope's report: inside the program (its strings) and the header, both showing the two times
    assert f"--- recorded/public/{CONFIG}/bin/clock\n+++ reproduced/public/{CONFIG}/bin/clock\n" in done.stdout
    assert f"--- recorded/public/{CONFIG}/inc/built.h\n+++ reproduced/public/{CONFIG}/inc/built.h\n" in done.stdout
    assert len(re.findall(r'^[│ ]*[-+]#define BUILT_AT "\d+\.\d+"$', done.stdout, re.MULTILINE)) == 2
    assert "strings" in done.stdout or "readelf" in done.stdout


def test_a_pin_gone_from_its_feed_is_named_before_anything_is_set_up(
    clock: tuple[History, subprocess.CompletedProcess[str]], other_cache: Path
) -> None:
    history, _ = clock
    archive = history.base / "lab" / "clock" / "1.0" / "clock-1.0.tar.gz"
    kept = history.base / "clock-1.0.tar.gz"
    archive.rename(kept)
    tmp = history.base / "tmp-pins"
    tmp.mkdir()
    try:
        manifest = history.origin / "out" / CONFIG / "manifest.json"
        done = run_enlist(
            ["reproduce", str(manifest), "--repo", history.origin.as_uri()],  # a URL: a full clone
            cwd=history.base,
            env={"ENLIST_CACHE": str(other_cache), "TMPDIR": str(tmp)},
        )
    finally:
        kept.rename(archive)
    assert done.returncode == 3, done.stdout + done.stderr
    assert (
        f"error: commit {history.commits[2][:12]} pins 1 file that no feed has any more: clock 1.0 (any, sha256 "
    ) in done.stderr
    assert "feed 'lab' has no file clock/1.0/clock-1.0.tar.gz" in done.stderr
    assert "bootstrap:" not in done.stderr and done.stdout == ""
    assert list(tmp.iterdir()) == []
