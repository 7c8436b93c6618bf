"""Builds at the same time: two in one enlistment (the second waits, and says why), a build killed while its
commands run (the next one waits for them), and two enlistments sharing one toolcache and action cache."""

from __future__ import annotations

import fcntl
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import enginekit as ek
from enlist.model.action import Action, ActionKind
from enlist.model.project import Pass
from enlist.rules.spec import ToolTree
from enlist.store import verify
from realkit import CONFIG, PROGRAM_OUTPUT, VARIANTS, Tree, differences, make_tree
from test_engine_process import Build


def wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float = 60) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if text in line:
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"never saw {text!r}; output:\n{seen}")


def test_a_second_build_waits_for_the_first_and_says_so(tree: Tree) -> None:
    tree.build()
    reference = tree.snapshot()
    (tree.root / "projects/app/main.c").write_text((tree.root / "projects/app/main.c").read_text() + "\n")
    lock = tree.root / "out" / CONFIG / ".enlist" / "lock"
    with open(lock, "r+b") as held:  # a build in progress, as far as any other build can tell
        fcntl.flock(held, fcntl.LOCK_EX)
        held.write(f"{os.getpid()}\n".encode())
        held.flush()
        second = tree.spawn("build")
        line = wait_for_line(second, "waiting")
        assert line == (
            f"enlist: another build is running in {tree.root}/out/{CONFIG} (pid {os.getpid()}); waiting for it to "
            "finish (Ctrl-C to stop waiting)\n"
        )
        time.sleep(0.3)
        assert second.poll() is None  # still waiting, not failed
        held.truncate(0)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, out + err
    assert differences(tree.snapshot(), reference) == []


def test_after_a_kill_9_the_next_build_waits_for_the_commands_still_running(tmp_path: Path) -> None:
    kit = ek.make_kit(tmp_path / "tree")
    kit.write("slow/seconds", "3\n")
    env = {**os.environ, "ENLIST_CACHE": str(tmp_path / "cache")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(ek.__file__).parents[1] / "src"), str(Path(ek.__file__).parent)])
    first = Build(kit, env, "--slow")
    first.wait_for(">GEN slow")
    pid_file = kit.root / "slow" / "pid"
    while not pid_file.is_file() or not pid_file.read_text().strip():
        time.sleep(0.02)
    first.proc.send_signal(signal.SIGKILL)  # enlist dies; the command it started lives on, in its own group
    assert first.finish()[0] == -signal.SIGKILL
    second = Build(kit, env, "--slow")
    second.wait_for("waiting for them to finish")
    assert (
        f"a build in {kit.root}/out/{ek.CONFIG} (pid {first.proc.pid}) was killed and commands it started are "
        "still running" in second.lines[-1]
    )
    kit.write("slow/seconds", "0\n")
    code, output = second.finish(timeout=60)
    assert code == 0, output
    assert kit.read(ek.obj("slow", "slow.txt")) == b"halfdone"  # written by this build alone
    assert kit.read(ek.obj("app", "app.out")) == b"42\n"
    leftovers = [p for p in kit.root.rglob(".*.tmp")]
    assert leftovers == []


def test_two_enlistments_sharing_one_cache_build_at_the_same_time(
    tmp_path: Path, warm_tools: dict[str, ToolTree]
) -> None:
    cache = tmp_path / "shared-cache"
    trees = [make_tree(tmp_path / name, warm_tools, cache=cache) for name in ("one", "two")]
    references = {}
    for variant in range(len(VARIANTS)):  # what each variant gives when built alone, from nothing
        trees[0].use(variant)
        trees[0].build("--no-cache")
        references[variant] = without_paths(trees[0].snapshot())
    rng = random.Random(7)
    for round_ in range(4):
        variants = [rng.randrange(len(VARIANTS)) for _ in trees]
        for tree, variant in zip(trees, variants, strict=True):
            if rng.random() < 0.5:
                tree.clean()
            tree.use(variant)
        procs = [tree.spawn("build", "-j", "2") for tree in trees]
        results = [p.communicate(timeout=300) for p in procs]
        for tree, variant, proc, (out, err) in zip(trees, variants, procs, results, strict=True):
            assert proc.returncode == 0, f"round {round_}: {out}{err}"
            assert differences(without_paths(tree.snapshot()), references[variant]) == [], f"round {round_}"
            assert tree.run_program() == PROGRAM_OUTPUT[variant]
    assert verify.verify(cache.resolve()).problems == ()


def without_paths(snapshot: dict[str, bytes]) -> dict[str, bytes]:
    """All but compile_commands.json, the one output that names the enlistment's absolute path."""
    return {path: data for path, data in snapshot.items() if path != "compile_commands.json"}


def test_a_process_left_in_the_background_by_a_finished_build_delays_nobody(tmp_path: Path) -> None:
    kit = ek.make_kit(tmp_path / "tree")
    kit.write("bg/README", "a command that leaves a server running, as a compiler cache does\n")
    out = ek.obj("bg", "bg.txt")
    script = f"sleep 60 </dev/null >/dev/null 2>&1 & echo $! > bg/pid; echo started > {out}"
    kit.extra.append(
        Action(
            id="bg:generate",
            kind=ActionKind.GENERATE,
            project="bg",
            pass_=Pass.PASS0,
            argv=("/bin/sh", "-c", script),
            inputs=("bg/README",),
            outputs=(out,),
            env=ek.ENV,
            description="GEN bg",
        )
    )
    cache = tmp_path / "cache"
    assert ek.build(kit, cache=cache)[0] == 0
    server = int((kit.root / "bg" / "pid").read_text())
    try:
        kit.write("other/other.c", "int other(void) { return 8; }\n")
        code, output = ek.build(kit, cache=cache)
        assert code == 0, output
        assert "waiting" not in output
    finally:
        os.kill(server, signal.SIGKILL)
