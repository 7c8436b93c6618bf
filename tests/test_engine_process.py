"""Builds as separate processes: Ctrl-C in the middle, two builds of one tree, and `enlist build` from the
command line answering "nothing to do" without loading the heavy parts of enlist."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import enginekit as ek
from enginekit import CONFIG, Kit, obj

KIT = Path(__file__).with_name("enginekit.py")
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    kit = ek.make_kit(tmp_path / "tree")
    kit.write("slow/seconds", "60\n")
    return kit


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["ENLIST_CACHE"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(KIT.parent)])
    env.pop("ENLIST_ROOT", None)
    env.pop("ENLIST_CONFIG", None)
    return env


class Build:
    """A build running in a child process, its output read line by line."""

    def __init__(self, kit: Kit, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(KIT), str(kit.root), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []

    def wait_for(self, text: str, timeout: float = 60) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"never saw {text!r}; output:\n{''.join(self.lines)}")

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, "".join(self.lines) + out


@pytest.fixture
def builds() -> Iterator[list[Build]]:
    started: list[Build] = []
    yield started
    for b in started:  # a failed test must not leave a build (or its 60 s sleep) behind
        if b.proc.poll() is None:
            b.proc.send_signal(signal.SIGINT)
            b.proc.wait(timeout=30)


def start(builds: list[Build], kit: Kit, env: dict[str, str], *args: str) -> Build:
    b = Build(kit, env, *args)
    builds.append(b)
    return b


def group_gone(pgid: int) -> bool:
    """True once no process of the group is left (a killed process may take a moment to be reaped)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_kills_running_commands_and_the_next_build_is_correct(
    kit: Kit, env: dict[str, str], builds: list[Build]
) -> None:
    b = start(builds, kit, env, "--slow")
    b.wait_for(">GEN slow")
    pid_file = kit.root / "slow" / "pid"
    while not pid_file.exists() or not pid_file.read_text().strip():
        time.sleep(0.05)
    pgid = int(pid_file.read_text())
    b.proc.send_signal(signal.SIGINT)
    code, output = b.finish()
    assert code == 130, output
    assert re.search(r"^enlist: interrupted; stopped: .*GEN slow", output, re.M), output
    assert group_gone(pgid)  # the command and its children are gone
    assert not (kit.root / obj("slow", "slow.txt")).exists()  # a killed action's output is never left behind
    kit.write("slow/seconds", "0\n")
    code, output = start(builds, kit, env, "--slow").finish()
    assert code == 0, output
    assert kit.read(obj("slow", "slow.txt")) == b"halfdone"
    assert kit.read(obj("app", "app.out")) == b"42\n"


def test_a_second_build_of_the_same_tree_waits_for_the_first(
    kit: Kit, env: dict[str, str], builds: list[Build]
) -> None:
    first = start(builds, kit, env, "--slow")
    first.wait_for(">GEN slow")
    second = start(builds, kit, env, "--slow")
    second.wait_for("another build is running")
    assert f"pid {first.proc.pid}" in second.lines[-1]
    assert second.proc.poll() is None  # waiting, not failed
    kit.write("slow/seconds", "0\n")
    first.proc.send_signal(signal.SIGINT)
    assert first.finish()[0] == 130
    code, output = second.finish()
    assert code == 0, output
    assert kit.read(obj("app", "app.out")) == b"42\n"


def enlist(kit: Kit, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "enlist", "build", *args],
        cwd=kit.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_enlist_build_says_nothing_to_do_without_loading_the_engine(kit: Kit, env: dict[str, str]) -> None:
    cache = Path(env["ENLIST_CACHE"])
    for _ in range(2):
        assert ek.build(kit, cache=cache)[0] == 0
    done = enlist(kit, env, "--config", CONFIG, "-j", "4")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"enlist: nothing to do ({CONFIG}: ")
    modules = imported(done.stderr)
    heavy = {"argparse", "typing", "rich", "networkx", "requests", "enlist.engine", "enlist.errors", "json"}
    assert not modules & heavy, sorted(modules & heavy)
    assert (kit.root / "out" / CONFIG / "build.json").read_text().count('"result": "nothing to do"') == 1


def test_enlist_build_does_the_work_when_anything_changed(kit: Kit, env: dict[str, str]) -> None:
    cache = Path(env["ENLIST_CACHE"])
    for _ in range(2):
        assert ek.build(kit, cache=cache)[0] == 0
    kit.write("other/other.c", "int other(void) { return 8; }\n")
    again = enlist(kit, env, "--config", CONFIG)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "CC other/other.c" in again.stdout  # the plan kept in the tree was reused: no planner needed
    (kit.root / obj("app", "app")).unlink()
    relinked = enlist(kit, env, "--config", CONFIG)  # enlist.toml was read by the build before: remembered
    assert relinked.returncode == 0, relinked.stdout + relinked.stderr
    assert f"LINK {obj('app', 'app')}" in relinked.stdout
    assert (kit.root / obj("app", "app")).is_file()
    modules = imported(relinked.stderr)
    heavy = {"dataclasses", "argparse", "rich", "networkx", "requests", "tomllib", "enlist.descriptors"}
    assert not modules & heavy, sorted(modules & heavy)


def test_enlist_build_reports_usage_errors_without_a_traceback(kit: Kit, env: dict[str, str]) -> None:
    bad = enlist(kit, env, "--config", "debug")
    assert bad.returncode == 2
    assert "error: bad config 'debug'" in bad.stderr
    assert "Traceback" not in bad.stderr
    outside = enlist(kit, env, "--config", CONFIG, "/")
    assert outside.returncode == 2
    assert "DIRS must be inside the enlistment" in outside.stderr


def test_enlist_clean_removes_outputs_public_and_logs_but_keeps_the_cache(
    kit: Kit, env: dict[str, str]
) -> None:
    cache = Path(env["ENLIST_CACHE"])
    assert ek.build(kit, cache=cache)[0] == 0
    done = subprocess.run(
        [sys.executable, "-m", "enlist", "clean", "--config", CONFIG],
        cwd=kit.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"enlist: cleaned {CONFIG}: 14 outputs")  # 10 outputs and 4 depfiles
    assert not (kit.root / obj("lib", "greet.o")).exists()
    assert not (kit.root / "lib" / "obj").exists()  # emptied directories go too
    assert not (kit.root / "public" / CONFIG).exists()
    assert not (kit.root / "out" / CONFIG / "build.log").exists()
    assert (kit.root / "lib" / "greet.c").is_file()  # sources are never touched
    code, output = ek.build(kit, cache=cache, clean=True)
    assert code == 0
    assert "cached: CC lib/greet.c" in output  # the machine's action cache still serves the next build


def test_at_a_terminal_the_build_draws_a_live_view_and_a_summary_table(kit: Kit, env: dict[str, str]) -> None:
    import pty

    cache = Path(env["ENLIST_CACHE"])
    assert ek.build(kit, cache=cache)[0] == 0
    kit.write("lib/count.c", '#include "greet.h"\nint count(void) { return 3 }\n')  # a compile error
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "enlist", "build", "--config", CONFIG],
        cwd=kit.root,
        env={**env, "TERM": "xterm", "COLUMNS": "100"},
        stdin=child,
        stdout=child,
        stderr=child,
    )
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # the terminal closed: the build is over
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    assert proc.wait(timeout=60) == 1
    drawn = b"".join(chunks).decode(errors="replace")
    assert "\x1b[" in drawn  # drawn with terminal control sequences
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    assert "error: CC lib/count.c failed (exit code 1)" in screen
    assert re.search(r"total\s*│\s*0\s*│\s*0\s*│\s*3\s*│\s*1\s*│\s*5\s*│", screen), screen


def test_a_small_edit_imports_the_engine_alone(kit: Kit, env: dict[str, str]) -> None:
    cache = Path(env["ENLIST_CACHE"])
    for _ in range(2):
        assert ek.build(kit, cache=cache)[0] == 0
    kit.write("other/other.c", "int other(void) { return 8; }\n")
    assert enlist(kit, env, "--config", CONFIG).returncode == 0  # and remembers what enlist.toml says
    kit.write("other/other.c", "int other(void) { return 9; }\n")
    done = enlist(kit, env, "--config", CONFIG, "-j", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "CC other/other.c" in done.stdout
    modules = imported(done.stderr)
    heavy = {"argparse", "tomllib", "enlist.workspace", "enlist.app.planning", "enlist.manifest", "tempfile"}
    assert not modules & heavy, sorted(modules & heavy)
    summary = json.loads((kit.root / "out" / CONFIG / "build.json").read_text())
    assert summary["result"] == "succeeded"


def test_a_header_first_included_by_an_edit_is_watched_by_the_next_no_op_check(
    kit: Kit, env: dict[str, str]
) -> None:
    cache = Path(env["ENLIST_CACHE"])
    for _ in range(2):
        assert ek.build(kit, cache=cache)[0] == 0
    assert enlist(kit, env, "--config", CONFIG).stdout.startswith("enlist: nothing to do")
    kit.write("other/extra.h", "#define EXTRA 1\n")
    kit.write("other/other.c", '#include "extra.h"\nint other(void) { return EXTRA; }\n')
    assert "CC other/other.c" in enlist(kit, env, "--config", CONFIG).stdout
    assert enlist(kit, env, "--config", CONFIG).stdout.startswith("enlist: nothing to do")
    kit.write("other/extra.h", "#define EXTRA 2\n")
    again = enlist(kit, env, "--config", CONFIG)
    assert "CC other/other.c" in again.stdout, again.stdout
