"""kill -9 at random moments, then build (or restore) again: the result equals a clean build byte for byte, and
the caches hold nothing truncated or mismatched.

Each trial picks a start (a clean tree with an empty cache, a clean tree with a warm cache, or an edit of the
tree the previous trial left), a variant of the sources, and a moment: just before or just after the Nth file
that enlist makes appear by a rename or a hard link (cache entries, CAS blobs, published files, restored
outputs, state, logs, the manifest; see crashkit.py), or a random delay after the start. The killed process
gets SIGKILL on its pid alone, so the compilers it started may outlive it, as after a real `kill -9`.

    ENLIST_SOAK_TRIALS=200 python3 bootstrap.py test tests/test_crash_soak.py -s     a long soak
    ENLIST_SOAK_SEED=1234 ...                                                        replay one

Figures (trials, kills, moments, wrong results) are printed at the end of each soak.
"""

from __future__ import annotations

import collections
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from enlist.toolcache import maintenance
from enlist.toolcache.layout import Layout
from enlist.toolcache.store import make_writable
from feedserver import FeedServer
from realkit import CRASHKIT, PROGRAM_OUTPUT, VARIANTS, Tree, differences
from toolcache_support import PLATFORM, Enlistment, packages_toml, tool_tar

pytestmark = pytest.mark.soak

TRIALS = int(os.environ.get("ENLIST_SOAK_TRIALS", "8"))
SEED = int(os.environ.get("ENLIST_SOAK_SEED") or random.SystemRandom().randrange(1 << 30))
MOMENTS = ("before", "after", "delay")


@dataclass
class Tally:
    name: str
    trials: int = 0
    kills: int = 0
    moments: collections.Counter[str] = field(default_factory=collections.Counter)
    wrong: list[str] = field(default_factory=list)

    def report(self) -> str:
        moments = ", ".join(f"{k} {v}" for k, v in sorted(self.moments.items()))
        return (
            f"{self.name}: seed {SEED}, {self.trials} trials, {self.kills} killed by SIGKILL "
            f"({moments}), {len(self.wrong)} wrong results"
        )


def where(note: Path, cache: Path) -> str:
    """What the killed process was doing, from the crash note: the kind of file it was making appear."""
    text = note.read_text() if note.is_file() else ""
    note.unlink(missing_ok=True)
    path = text.split(" ", 1)[1].strip() if " " in text else ""
    toolcache = f"{cache}/toolcache/"
    if path.startswith(toolcache):
        area = path[len(toolcache) :].split("/")[0]
        if area == "trees":
            return "tree manifest write" if path.endswith(".json") else "tree install"
        return {"sha256": "archive commit", "registry": "registry write"}.get(area, "toolcache cleanup")
    rules = [
        (f"{cache}/ac/", "action-cache write"),
        (f"{cache}/cas/", "CAS write"),
        ("/public/", "publish"),
        ("/manifest.json", "manifest write"),
        ("/.enlist/", "tree state write"),
        ("/obj/", "output write"),
        ("/out/", "log write"),
    ]
    return next((label for part, label in rules if part in path), "other write")


def wipe_action_cache(cache: Path) -> None:
    for area in ("ac", "cas", "tmp"):
        shutil.rmtree(cache / area, ignore_errors=True)


def last_action(output: str) -> str:
    """The kind of the last action a killed build announced ("CC", "LINK", "PUBLISH", ...)."""
    labels = re.findall(r"^\d+>([A-Z]+)", output, re.M)
    return labels[-1] if labels else "planning"


def calibrate(tree: Tree) -> tuple[dict[int, dict[str, bytes]], dict[str, int], float]:
    """Reference snapshots of clean builds of every variant, how many operations each kind of start makes,
    and how long a cold build takes."""
    references: dict[int, dict[str, bytes]] = {}
    operations: dict[str, int] = {}
    seconds = 0.0
    for variant in range(len(VARIANTS)):
        tree.clean()
        wipe_action_cache(tree.cache)
        tree.use(variant)
        started = time.monotonic()
        operations["cold"] = max(operations.get("cold", 0), tree.count_operations("build"))
        seconds = max(seconds, time.monotonic() - started)
        references[variant] = tree.snapshot()
        assert tree.run_program() == PROGRAM_OUTPUT[variant]
    tree.clean()
    operations["warm"] = tree.count_operations("build")
    tree.use(0)
    operations["edit"] = tree.count_operations("build")
    return references, operations, seconds


def kill_one_build(tree: Tree, rng: random.Random, operations: int, seconds: float, note: Path) -> tuple[bool, str]:
    moment = rng.choice(MOMENTS)
    if moment == "delay":
        proc = tree.spawn("build", "-j", "2")
        assert proc.stdout is not None
        first = proc.stdout.readline()  # "enlist: building ...": planned, about to run actions
        time.sleep(rng.uniform(0.0, seconds / 2))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        return proc.returncode == -signal.SIGKILL, f"delay during {last_action(first + out)}"
    number = rng.randint(1, operations)
    done = tree.enlist("build", "-j", "2", crash=(moment, number), CRASHKIT_NOTE=str(note))
    killed = done.returncode == -signal.SIGKILL
    assert killed or done.returncode == 0, done.stdout + done.stderr
    return killed, f"{moment} {where(note, tree.cache)}"


def test_kill_9_during_builds_never_leaves_a_wrong_result(tree: Tree, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    references, operations, seconds = calibrate(tree)
    tally = Tally("build soak")
    note = tmp_path / "crash-note"
    current = 0
    while tally.kills < TRIALS and tally.trials < 6 * TRIALS:  # about 40-70% of trials kill
        start = rng.choice(("cold", "warm", "edit"))
        if start != "edit":
            tree.clean()
        if start == "cold":
            wipe_action_cache(tree.cache)
        current = rng.randrange(len(VARIANTS))
        tree.use(current)
        killed, moment = kill_one_build(tree, rng, operations[start], seconds, note)
        tally.trials += 1
        if killed:
            tally.kills += 1
            tally.moments[moment] += 1
        again = tree.enlist("build", "-j", "2")
        problems = differences(tree.snapshot(), references[current])
        if again.returncode != 0:
            problems.append(f"exit {again.returncode}: {again.stdout}{again.stderr}")
        elif tree.run_program() != PROGRAM_OUTPUT[current]:
            problems.append(f"the program prints {tree.run_program()!r}")
        if problems:
            tally.wrong.append(f"trial {tally.trials} ({start}, variant {current}, {moment}): {problems}")
    verified = tree.enlist("cache", "verify")
    tree.clean()
    served = tree.enlist("build")
    print(tally.report())
    assert tally.wrong == [], tally.report() + "\n" + "\n".join(tally.wrong)
    assert tally.kills >= TRIALS, tally.report()  # fewer in 6x the trials: the kills no longer hit
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert served.returncode == 0 and tree.snapshot() == references[current], served.stdout


def test_kill_9_before_and_after_each_write_of_a_cold_build(tree: Tree, tmp_path: Path) -> None:
    """Deterministic moments: just before and just after each rename or link of a build from a clean tree and
    an empty cache, spread evenly over all of them (all of them when ENLIST_SOAK_TRIALS is large enough)."""
    tree.use(0)
    operations = tree.count_operations("build", "-j", "2")
    reference = tree.snapshot()
    points = [(moment, n) for n in range(1, operations + 1) for moment in ("before", "after")]
    if len(points) > TRIALS:
        points = [points[round(k * (len(points) - 1) / max(1, TRIALS - 1))] for k in range(TRIALS)]
    tally = Tally("write sweep")
    note = tmp_path / "crash-note"
    for moment, number in points:
        tree.clean()
        wipe_action_cache(tree.cache)
        done = tree.enlist("build", "-j", "2", crash=(moment, number), CRASHKIT_NOTE=str(note))
        tally.trials += 1
        if done.returncode == -signal.SIGKILL:
            tally.kills += 1
            tally.moments[f"{moment} {where(note, tree.cache)}"] += 1
        again = tree.enlist("build", "-j", "2")
        problems = differences(tree.snapshot(), reference)
        if again.returncode != 0:
            problems.append(f"exit {again.returncode}: {again.stdout}{again.stderr}")
        if problems:
            tally.wrong.append(f"{moment} operation {number}: {problems}")
    print(tally.report())
    assert tally.wrong == [], tally.report() + "\n" + "\n".join(tally.wrong)
    assert tally.kills >= len(points) * 3 // 4, tally.report()  # threads may reorder the last few writes


# -- restore -----------------------------------------------------------------------------------------------

SECOND = '\n[[package]]\nname = "tool"\nversion = "2.0"\nfeed = "web"\npath = ["bin"]\n'


def restore_argv(moment: str, number: int) -> list[str]:
    if moment == "delay":
        return [sys.executable, "-m", "enlist", "restore", "-j", "2"]
    return [sys.executable, str(CRASHKIT), moment, str(number), "--", "restore", "-j", "2"]


def kill_one_restore(
    e: Enlistment, rng: random.Random, operations: int, seconds: float, note: Path
) -> tuple[bool, str]:
    moment = rng.choice(MOMENTS)
    number = rng.randint(1, operations)
    proc = subprocess.Popen(
        restore_argv(moment, number),
        cwd=e.root,
        env=e.process_env(CRASHKIT_NOTE=str(note)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if moment == "delay":
        time.sleep(rng.uniform(0.1, seconds))
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    killed = proc.returncode == -signal.SIGKILL
    assert killed or proc.returncode == 0, out + err
    if moment == "delay":
        return killed, "delay during " + ("unpack" if "unpack" in err else "fetch" if "fetch" in err else "start")
    return killed, f"{moment} {where(note, e.cache)}"


def test_kill_9_during_restores_never_leaves_a_wrong_package(
    enlistment: Enlistment, server: FeedServer, feed: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    for version in ("1.0", "2.0"):  # a megabyte each, so that fetching and unpacking take a while
        for platform in ("linux-x86_64", "macos-arm64"):
            tool_tar(
                feed / f"tool/{version}/tool-{version}-{platform}.tar.gz",
                text=f"tool {version} {platform}",
                payload=rng.randbytes(1 << 20),
            )
    enlistment.write(packages_toml(server.url, extra=SECOND))
    assert enlistment.call("lock").code == 0
    started = time.monotonic()
    counted = tmp_path / "count"
    done = subprocess.run(
        [sys.executable, str(CRASHKIT), "count", str(counted), "--", "restore", "-j", "2"],
        cwd=enlistment.root,
        env=enlistment.process_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    seconds, operations = time.monotonic() - started, int(counted.read_text())
    tally = Tally("restore soak")
    note = tmp_path / "crash-note"
    while tally.kills < TRIALS and tally.trials < 6 * TRIALS:  # about 40-70% of trials kill
        if rng.random() < 0.5:  # else keep what the last trial left: a partial download, a half-done restore
            make_writable(enlistment.cache)
            shutil.rmtree(enlistment.cache)
        killed, moment = kill_one_restore(enlistment, rng, operations, seconds, note)
        tally.trials += 1
        if killed:
            tally.kills += 1
            tally.moments[moment] += 1
        problems = restored_problems(enlistment)
        if problems:
            tally.wrong.append(f"trial {tally.trials} ({moment}): {problems}")
    print(tally.report())
    assert tally.wrong == [], tally.report() + "\n" + "\n".join(tally.wrong)
    assert tally.kills >= TRIALS, tally.report()  # fewer in 6x the trials: the kills no longer hit


def restored_problems(e: Enlistment) -> list[str]:
    """What is wrong after a restore that follows a killed one: it must succeed, the cache must verify, and
    each tool must be exactly the pinned one."""
    again = e.run("restore")
    if again.code != 0:
        return [f"restore exit {again.code}: {again.text}"]
    problems = [str(p) for p in maintenance.verify(Layout.at(e.cache)).problems]
    for version in ("1.0", "2.0"):
        tree = next(t for t in e.trees() if (t / "bin/tool").read_text().endswith(f"tool {version} {PLATFORM}\n"))
        ran = subprocess.run([tree / "bin/tool"], capture_output=True, text=True)
        if ran.stdout != f"tool {version} {PLATFORM}\n":
            problems.append(f"tool {version} prints {ran.stdout!r}")
    return problems
