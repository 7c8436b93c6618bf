"""What a killed build leaves behind, and how the next build or `enlist clean` deals with it: temporary files of
interrupted writes are swept (never left among published files or objects), and the tree's state files
(plan, state, no-op record) read as "no state" when they are damaged or cut short."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from realkit import CONFIG, PROGRAM_OUTPUT, PUBLIC, Tree, differences
from toolcache_support import Enlistment

LEFTOVERS = (
    f"{PUBLIC}/bin/.app.4242.139.tmp",  # a publish staged, not renamed
    f"projects/app/obj/{CONFIG}/.app.test.log.x1y2z3w4.tmp",  # a test's log
    f"projects/words/obj/{CONFIG}/.util.c.o.4242.140.tmp",  # an output restored from the cache
    f"out/{CONFIG}/.manifest.json.abcdefgh.tmp",
    f"out/{CONFIG}/.enlist/.state.4242.tmp",
    ".compile_commands.json.k2j3h4g5.tmp",
)
KEPT = ("projects/app/notes.tmp", "projects/app/.editor.tmp", ".notes.tmp")  # not ours: never touched


def killed_midway(tree: Tree) -> None:
    """The marks of a build killed with SIGKILL: its pid in the lock, no no-op record, temporary files."""
    lock = tree.root / "out" / CONFIG / ".enlist" / "lock"
    lock.write_text("4194303\n")  # a pid no live process has
    (tree.root / "out" / CONFIG / ".enlist" / "noop").unlink(missing_ok=True)
    for rel in (*LEFTOVERS, *KEPT):
        (tree.root / rel).write_bytes(b"half of something")


def test_the_build_after_a_kill_sweeps_what_interrupted_writes_left(tree: Tree) -> None:
    tree.build()
    reference = tree.snapshot()
    killed_midway(tree)
    tree.build()
    assert [rel for rel in LEFTOVERS if (tree.root / rel).exists()] == []
    assert [rel for rel in KEPT if not (tree.root / rel).exists()] == []
    assert differences(tree.snapshot(), reference) == []


def test_clean_after_a_kill_leaves_no_output_directory_behind(tree: Tree) -> None:
    tree.build()
    killed_midway(tree)
    assert tree.enlist("clean").returncode == 0
    assert not (tree.root / "projects/app/obj").exists() and not (tree.root / "public").exists()
    assert (tree.root / KEPT[0]).is_file()


@pytest.mark.parametrize("name", ["plan", "state", "noop", "watch", "journal"])
@pytest.mark.parametrize("damage", ["cut short", "emptied"])
def test_damaged_tree_state_reads_as_no_state(tree: Tree, name: str, damage: str) -> None:
    tree.build()
    if name == "journal":  # a build that ran a few actions of the same plan appends to it
        tree.use(1)
        tree.build()
    reference = tree.snapshot()
    path: Path = tree.root / "out" / CONFIG / ".enlist" / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "cut short" else b"")
    done = tree.enlist("build")
    assert done.returncode == 0, done.stdout + done.stderr
    assert differences(tree.snapshot(), reference) == []


def test_a_plan_whose_commands_were_damaged_is_made_again(tree: Tree) -> None:
    tree.build()
    reference = tree.snapshot()
    plan = tree.root / "out" / CONFIG / ".enlist" / "plan"
    data = plan.read_bytes()
    assert data.count(b"-O0") > 1
    plan.write_bytes(data.replace(b"-O0", b"-O2"))  # still a well-formed plan: only the CRC can tell
    (tree.root / "projects/app/main.c").write_text((tree.root / "projects/app/main.c").read_text() + "\n")
    done = tree.enlist("build", "--explain")
    assert done.returncode == 0, done.stdout + done.stderr
    assert differences(tree.snapshot(), reference) == []
    assert b"-O2" not in plan.read_bytes()


def test_gc_removes_what_killed_builds_left_in_the_cache(enlistment: Enlistment) -> None:
    tmp = enlistment.cache / "tmp"
    tmp.mkdir(parents=True)
    old, fresh = tmp / f".{'ab' * 32}.4242.139.tmp", tmp / f".{'cd' * 32}.4243.140.tmp"
    for path in (old, fresh):
        path.write_bytes(b"half a blob")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    result = enlistment.run("cache", "gc")
    assert result.code == 0
    assert result.out.endswith("gc: removed 1 temporary leftovers\n")
    assert not old.exists() and fresh.exists()  # a young one may belong to a build that is running


def test_a_small_build_appends_to_the_journal_and_leaves_the_base_alone(tree: Tree) -> None:
    tree.build()
    enlist_dir = tree.root / "out" / CONFIG / ".enlist"
    base = (enlist_dir / "state").read_bytes()
    sizes = []
    for variant in (1, 0, 1):
        tree.use(variant)
        assert "CC projects/words/util.c" in tree.build().stdout
        assert (enlist_dir / "state").read_bytes() == base
        sizes.append((enlist_dir / "journal").stat().st_size)
    assert sizes == sorted(set(sizes))  # one frame more each time
    assert tree.run_program() == PROGRAM_OUTPUT[1]
    tree.use(0)
    tree.build()
    assert "nothing to do" in tree.build().stdout  # what the journal says is what the next build trusts
