"""The engine's adapters on real files and processes: the CAS and action cache, the stat cache, the tree
state, the subprocess executor, publishing, and the log files."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
import time
import zlib
from pathlib import Path

import pytest

from enlist.console.logs import LogFiles
from enlist.console.plain import PlainConsole
from enlist.digest import of_bytes
from enlist.engine import dag as dagmod
from enlist.engine.events import ActionFinished, ActionSkipped, ActionStarted
from enlist.engine.table import (
    ActionTable,
    Layered,
    RecordRow,
    RecordTable,
    ShardedMap,
    pack_shards,
    record_row,
)
from enlist.engine.verdict import Outcome, Reason, Record, Verdict, Why
from enlist.errors import EnvironmentFault, InputError
from enlist.execute import SubprocessExecutor, ThreadWorkers
from enlist.model.action import Action, ActionKind, PathRoots
from enlist.model.project import Pass
from enlist.publish import TreePublisher, remove_stale
from enlist.store import noop, state
from enlist.store.files import UNTRUSTED, TreeFiles, pack, unpack
from enlist.store.local import LocalStore, cache_dir

# -- the local store --


def test_cache_dir_follows_the_environment(tmp_path: Path) -> None:
    assert cache_dir({"ENLIST_CACHE": "/c", "XDG_CACHE_HOME": "/x"}) == Path("/c")
    assert cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/enlist")
    assert cache_dir({}) == Path.home() / ".cache" / "enlist"


def test_store_keeps_blobs_under_their_digest_and_verifies_what_it_restores(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "cache")
    source = tmp_path / "a.o"
    source.write_bytes(b"object")
    digest = of_bytes(b"object")
    store.put_file(str(source), digest)
    blob = tmp_path / "cache" / "cas" / "sha256" / digest[:2] / digest
    assert blob.read_bytes() == b"object"
    assert blob.stat().st_ino == source.stat().st_ino  # stored by a hard link: no copy, no new file
    dest = tmp_path / "out" / "deep" / "prog"
    assert store.fetch_file(digest, str(dest), executable=True)
    assert dest.read_bytes() == b"object"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert not store.fetch_file("0" * 64, str(tmp_path / "nothing"), executable=False)
    assert not (tmp_path / "nothing").exists()
    source.write_bytes(b"tampered")  # written in place through the output's name: the blob changes too
    assert not store.fetch_file(digest, str(tmp_path / "again"), executable=False)
    assert not (tmp_path / "again").exists()
    assert not blob.exists()  # a blob that does not match its name is never used again
    assert [p.name for p in (tmp_path / "out" / "deep").iterdir()] == ["prog"]  # no temporary left behind


def test_store_entries_round_trip_and_are_replaced(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "cache")
    key = "ab" * 32
    assert store.get_entry(key) is None
    store.put_entry(key, b"one")
    store.put_entry(key, b"two")
    assert store.get_entry(key) == b"two"
    assert store.get_bytes(store.put_bytes(b"log text")) == b"log text"


def test_an_unwritable_cache_is_an_environment_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EnvironmentFault) as e:
        LocalStore(blocker / "cache").put_entry("ab" * 32, b"x")
    assert "cannot write the action cache" in e.value.message
    assert e.value.code == 3


# -- the stat cache --


def old_file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    past = time.time() - 100
    os.utime(path, (past, past))
    return path


def test_unchanged_files_are_not_read_again(tmp_path: Path) -> None:
    f = old_file(tmp_path / "a.c", b"int a;")
    first = TreeFiles(tmp_path)
    assert first.digest("a.c") == of_bytes(b"int a;")
    entries = {path: unpack(data) for path, data in first.entries().items()}
    assert entries["a.c"][3] == of_bytes(b"int a;")
    # a stat cache that lies about the content proves the file is not read while its signature holds
    lying = {"a.c": pack((*entries["a.c"][:3], "f" * 64))}
    second = TreeFiles(tmp_path, lying)
    assert not second.changed("a.c")
    assert second.digest("a.c") == "f" * 64
    f.write_bytes(b"int b;")
    third = TreeFiles(tmp_path, lying)
    assert third.changed_among(["a.c", "missing.c"]) == {"a.c", "missing.c"}
    assert third.digest("a.c") == of_bytes(b"int b;")
    assert third.digest("missing.c") is None


def test_files_hashed_right_after_a_change_are_saved_untrusted(tmp_path: Path) -> None:
    (tmp_path / "fresh.c").write_bytes(b"new")
    old_file(tmp_path / "old.c", b"old")
    files = TreeFiles(tmp_path)
    files.digest("fresh.c")
    files.digest("old.c")
    entries = {path: unpack(data) for path, data in files.entries().items()}
    assert entries["fresh.c"][:3] == UNTRUSTED  # hashed again next time: it may change within one tick
    assert entries["old.c"][:3] != UNTRUSTED
    assert files.signature("fresh.c") == UNTRUSTED


# -- the tree's state --


def test_a_damaged_state_reads_as_no_state(tmp_path: Path) -> None:
    for data in (b"", b"garbage", b"\xe3\x00\x00"):
        (tmp_path / "plan").write_bytes(data)
        (tmp_path / "state").write_bytes(data)
        assert state.load(tmp_path) is None


def saved_state(directory: Path, files: dict[str, bytes], rows: dict[str, RecordRow]) -> state.TreeState:
    """A base state of a plan of actions x, y and z, saved and loaded back."""
    actions = [Action(n, ActionKind.GENERATE, "p", Pass.PASS0, ("gen",), (), (f"p/{n}",)) for n in "xyz"]
    table = ActionTable.of(actions)
    plan = state.PlanState("chk-amd64", dagmod.build(table), PathRoots("/r"), (), (), ("f" * 64,) * 3)
    plan = state.save_plan(directory, plan)
    state.save(directory, state.TreeState(plan, files, RecordTable(rows)))
    loaded = state.load(directory)
    assert loaded is not None and loaded.journal is not None
    return loaded


def row(n: int) -> RecordRow:
    return (f"{n:064x}", ("dep.h",), b"blob%d" % n)


def test_a_build_appends_what_changed_to_the_journal_and_loading_replays_it(tmp_path: Path) -> None:
    base = saved_state(tmp_path, {"a.c": b"1" * 56, "b.c": b"2" * 56}, {"x": row(1), "y": row(2)})
    before = (tmp_path / "state").read_bytes()
    assert state.append(tmp_path, base.plan, base.journal, ({"a.c": b"3" * 56, "b.c": None}, {"x": row(3)}))
    again = state.load(tmp_path)
    assert again is not None and again.journal is not None
    assert state.append(tmp_path, again.plan, again.journal, ({"c.c": b"4" * 56}, {"y": None}))
    loaded = state.load(tmp_path)
    assert loaded is not None
    assert loaded.files == {"a.c": b"3" * 56, "c.c": b"4" * 56}
    assert loaded.records.rows == {"x": row(3)}
    assert (tmp_path / "state").read_bytes() == before  # the base was not rewritten


def test_the_records_of_a_build_know_what_it_changed() -> None:
    before = RecordTable({"x": row(1), "y": row(2)})
    ran = Record(f"{9:064x}", "s" * 64, "k" * 64, ("dep.h",), ("o" * 64,), 0.5)
    after = before.updated({"z": ran})  # z ran; y has left the plan
    assert dict(after.rows.items()) == {"x": row(1), "y": row(2), "z": record_row(ran)}
    assert after.only(("x", "z")) == {"x": row(1), "z": record_row(ran)}  # what a whole state keeps
    expected = {"z": record_row(ran)}
    assert state.changed_rows(before, after) == expected
    assert state.changed_rows(RecordTable(dict(before.rows)), after) == expected  # worked out when not kept


def test_sharded_and_layered_tables_read_as_the_dicts_they_stand_for() -> None:
    plain = {f"p/{n}.c": n.to_bytes(8, "little") for n in range(1000)}
    sharded = ShardedMap(pack_shards(plain, 7))
    assert sharded.get("p/5.c") == plain["p/5.c"] and "p/999.c" in sharded and "p/x.c" not in sharded
    assert dict(sharded.items()) == plain and len(sharded) == 1000 and sorted(sharded) == sorted(plain)
    layered = Layered(sharded, {"p/5.c": None, "p/6.c": b"new", "q.c": b"added"})
    expected = {**plain, "p/6.c": b"new", "q.c": b"added"}
    del expected["p/5.c"]
    assert dict(layered.items()) == expected and len(layered) == len(expected) and set(layered) == set(expected)
    assert layered.get("p/5.c") is None and "p/5.c" not in layered and layered["q.c"] == b"added"
    with pytest.raises(KeyError):
        layered["p/5.c"]


def test_a_frame_cut_short_by_a_kill_is_ignored_and_overwritten(tmp_path: Path) -> None:
    base = saved_state(tmp_path, {"a.c": b"1" * 56}, {"x": row(1)})
    assert state.append(tmp_path, base.plan, base.journal, ({"a.c": b"2" * 56}, {}))
    whole = (tmp_path / "journal").stat().st_size
    assert state.append(tmp_path, base.plan, state.Journal(base.journal.generation, base.journal.base_bytes, whole),
                        ({"a.c": b"3" * 56}, {"x": row(3)}))
    journal = tmp_path / "journal"
    journal.write_bytes(journal.read_bytes()[:-5])  # the second frame, torn
    torn = state.load(tmp_path)
    assert torn is not None and torn.journal is not None
    assert torn.files == {"a.c": b"2" * 56} and torn.records.rows == {"x": row(1)}
    assert torn.journal.valid_bytes == whole
    assert state.append(tmp_path, torn.plan, torn.journal, ({"b.c": b"4" * 56}, {}))
    after = state.load(tmp_path)
    assert after is not None and after.files == {"a.c": b"2" * 56, "b.c": b"4" * 56}


def test_a_damaged_frame_ends_the_journal(tmp_path: Path) -> None:
    base = saved_state(tmp_path, {"a.c": b"1" * 56}, {})
    assert state.append(tmp_path, base.plan, base.journal, ({"a.c": b"2" * 56}, {}))
    journal = tmp_path / "journal"
    data = bytearray(journal.read_bytes())
    data[-3] ^= 0xFF  # still the right length: only the CRC can tell
    journal.write_bytes(bytes(data))
    loaded = state.load(tmp_path)
    assert loaded is not None and loaded.files == {"a.c": b"1" * 56}


def test_a_journal_of_an_older_base_is_ignored(tmp_path: Path) -> None:
    base = saved_state(tmp_path, {"a.c": b"1" * 56}, {})
    assert state.append(tmp_path, base.plan, base.journal, ({"a.c": b"2" * 56}, {}))
    stale = (tmp_path / "journal").read_bytes()
    state.save(tmp_path, state.TreeState(base.plan, {"a.c": b"9" * 56}, RecordTable()))  # compacted...
    assert not (tmp_path / "journal").exists()
    (tmp_path / "journal").write_bytes(stale)  # ...and killed before the old journal was deleted
    loaded = state.load(tmp_path)
    assert loaded is not None and loaded.files == {"a.c": b"9" * 56}
    assert loaded.journal is not None and loaded.journal.valid_bytes == 0


def test_a_damaged_shard_of_the_state_reads_as_empty_and_the_rest_is_kept(tmp_path: Path) -> None:
    files = {f"p/{n}.c": n.to_bytes(56, "little") for n in range(1000)}
    saved_state(tmp_path, files, {"x": row(1)})
    path = tmp_path / "state"
    data = bytearray(path.read_bytes())
    header = int.from_bytes(data[:4], "little")
    data[8 + header + 10] ^= 0xFF  # inside the first shard of the stat cache: the header's CRC still holds
    path.write_bytes(bytes(data))
    loaded = state.load(tmp_path)
    assert loaded is not None
    kept = dict(loaded.files.items())
    assert 900 < len(kept) < 1000  # one shard of about 64 entries is gone
    assert all(files[path] == entry for path, entry in kept.items())  # and nothing else is wrong
    assert loaded.records.rows.get("x") == row(1)


def test_a_state_cut_short_reads_as_no_state(tmp_path: Path) -> None:
    saved_state(tmp_path, {f"p/{n}.c": n.to_bytes(56, "little") for n in range(1000)}, {})
    path = tmp_path / "state"
    path.write_bytes(path.read_bytes()[:-100])
    assert state.load(tmp_path) is None


def test_a_journal_grown_past_half_the_base_asks_for_a_rewrite(tmp_path: Path) -> None:
    base = saved_state(tmp_path, {"a.c": b"1" * 56}, {})
    big = {f"f{n}.c": n.to_bytes(56, "little") for n in range(2000)}  # over 64 KiB and half the base
    assert not state.append(tmp_path, base.plan, base.journal, (big, {}))
    assert not (tmp_path / "journal").exists()


def test_the_scan_names_the_actions_that_touch_the_changed_files() -> None:
    from array import array

    paths = ("a.c", "a.h", "a.o", "b.c")
    readers = {"a.c": [0], "a.h": [0, 2], "a.o": [0, 1], "b.c": [3]}
    offsets, flat = array("I", [0]), array("I")
    for path in paths:
        flat.extend(readers[path])
        offsets.append(len(flat))
    crc = zlib.crc32(flat.tobytes(), zlib.crc32(offsets.tobytes()))
    index = (7, sys.byteorder, offsets.tobytes(), flat.tobytes(), crc)
    sigs = bytes(8 * 12)
    scan = noop.Scan((), None, paths, sigs, [1, 3], index)
    assert scan.changed == {"a.h", "b.c"}
    assert scan.touched(7) == {0, 2, 3}
    assert scan.touched(8) is None  # an index of another plan is not used
    other = "big" if sys.byteorder == "little" else "little"
    assert noop.Scan((), None, paths, sigs, [1], (7, other, *index[2:])).touched(7) is None
    assert noop.Scan((), None, paths[:3], sigs, [1], index).touched(7) is None  # not these paths
    damaged = bytearray(index[3])
    damaged[0] ^= 1  # a.c's reader 0 -> 1: only the CRC can tell
    assert noop.Scan((), None, paths, sigs, [0], (*index[:3], bytes(damaged), crc)).touched(7) is None


def test_noop_identity_and_dirs() -> None:
    assert noop.normalise_dirs("/r", "/r/a", ["b", "../c", "."]) == ("a", "a/b", "c")
    assert noop.normalise_dirs("/r", "/elsewhere", ["a"]) == ("a",)
    assert noop.normalise_dirs("/r", "/r", ["/tmp"]) is None
    assert noop.normalise_dirs("/r", "/r", ["."]) == ("",)
    assert noop.normalise_dirs("/r", "/r", []) == ("",)
    assert noop.normalise_dirs("/r", "/r/projects/x", []) == ("projects/x",)  # build.exe: the current subtree


# -- the executor --


def command(tmp_path: Path, script: str, **fields: object) -> Action:
    base: dict[str, object] = dict(
        id="t",
        kind=ActionKind.GENERATE,
        project="p",
        pass_=Pass.PASS0,
        argv=(sys.executable, "-c", script),
        inputs=(),
        outputs=("p/out/x",),
        env=(("ONLY", "this"),),
    )
    base.update(fields)
    return Action(**base)  # type: ignore[arg-type]


def test_commands_see_only_their_environment_and_a_fixed_locale_zone_and_umask(tmp_path: Path) -> None:
    script = (
        "import os, json; open('p/out/x', 'w').write('x'); "
        "env = {k: v for k, v in os.environ.items() if k != 'LC_CTYPE'}; "
        "print(json.dumps({'env': env, 'cwd': os.getcwd(), "
        "'mode': oct(os.stat('p/out/x').st_mode & 0o777), 'pgid': os.getpgid(0) == os.getpid()}))"
    )
    run = SubprocessExecutor(tmp_path).run(command(tmp_path, script))
    assert run.exit_code == 0, run.output
    seen = json.loads(run.output)
    assert seen["env"] == {"ONLY": "this", "TZ": "UTC", "LC_ALL": "C"}
    assert seen["cwd"] == str(tmp_path)
    assert seen["mode"] == "0o644"
    assert seen["pgid"]  # a process group of its own


def test_a_failed_command_leaves_no_temporary_beside_its_output(tmp_path: Path) -> None:
    script = "open('p/out/x.tmp1a2b', 'w').write('half'); open('p/out/keep', 'w').write('k'); raise SystemExit(1)"
    run = SubprocessExecutor(tmp_path).run(command(tmp_path, script))
    assert run.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "p" / "out").iterdir()) == ["keep"]  # only the linker-style temp went


def test_a_missing_tool_is_a_failed_action_with_a_message(tmp_path: Path) -> None:
    run = SubprocessExecutor(tmp_path).run(command(tmp_path, "", argv=("/no/such/tool", "x")))
    assert run.exit_code == 127
    assert b"cannot run /no/such/tool" in run.output


def test_cancel_kills_the_whole_process_group(tmp_path: Path) -> None:
    executor = SubprocessExecutor(tmp_path)
    script = "import subprocess, sys; subprocess.run(['sleep', '60']); sys.exit(0)"
    workers: ThreadWorkers[object] = ThreadWorkers(1)
    workers.submit(lambda: executor.run(command(tmp_path, script)))
    time.sleep(0.5)  # let it start (no assertion depends on this timing)
    executor.cancel()
    run = workers.next_done()
    workers.close()
    assert run.killed  # type: ignore[attr-defined]
    again = executor.run(command(tmp_path, "print('never')"))
    assert again.killed and again.output == b""


# -- publishing --


def test_publish_copies_with_normalised_modes(tmp_path: Path) -> None:
    (tmp_path / "obj").mkdir()
    (tmp_path / "obj" / "tool").write_bytes(b"#!/bin/sh\n")
    os.chmod(tmp_path / "obj" / "tool", 0o700)
    (tmp_path / "obj" / "a.h").write_bytes(b"int a;")
    os.chmod(tmp_path / "obj" / "a.h", 0o600)
    TreePublisher(tmp_path).publish([("obj/tool", "public/bin/tool"), ("obj/a.h", "public/inc/a.h")])
    assert stat.S_IMODE((tmp_path / "public/bin/tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "public/inc/a.h").stat().st_mode) == 0o644
    assert (tmp_path / "public/inc/a.h").read_bytes() == b"int a;"
    assert (tmp_path / "public/inc/a.h").stat().st_ino != (tmp_path / "obj/a.h").stat().st_ino


def test_publish_of_a_missing_file_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.h").write_text("a")
    with pytest.raises(InputError) as e:
        TreePublisher(tmp_path).publish([("a.h", "public/a.h"), ("gone.h", "public/gone.h")])
    assert e.value.message == "cannot publish gone.h: it does not exist"
    assert not (tmp_path / "public" / "a.h").exists()
    assert [p.name for p in (tmp_path / "public").iterdir()] == []


def test_remove_stale_prunes_emptied_directories(tmp_path: Path) -> None:
    (tmp_path / "public/lib").mkdir(parents=True)
    (tmp_path / "public/lib/old.a").write_text("x")
    (tmp_path / "public/inc").mkdir()
    (tmp_path / "public/inc/keep.h").write_text("x")
    assert remove_stale(tmp_path, ["public/lib/old.a", "public/inc/none.h", "/etc/passwd"]) == [
        "public/lib/old.a"
    ]
    assert not (tmp_path / "public/lib").exists()
    assert (tmp_path / "public/inc/keep.h").exists()


# -- what the user reads --


def test_plain_console_and_logs_say_what_failed_and_where(tmp_path: Path) -> None:
    cc = command(tmp_path, "", id="lib:compile:a.c", project="lib", description="CC lib/a.c")
    link = command(tmp_path, "", id="lib:link", project="lib", description="LINK lib/x")
    failed = Outcome(
        0,
        Verdict.FAILED,
        Reason(Why.NEW),
        exit_code=1,
        output="lib/a.c:3:1: warning: unused\nlib/a.c:7:1: error: expected ';'\n",
    )
    out = io.StringIO()
    console = PlainConsole(out, explain=True)
    logs = LogFiles(tmp_path / "out", ("lib/sources:4: undefined macro FOO",))
    for event in (
        ActionStarted(cc, 2, Reason(Why.NEW)),
        ActionFinished(cc, 2, failed),
        ActionSkipped(link, cc),
    ):
        console(event)
        logs(event)
    assert out.getvalue().splitlines() == [
        "2>CC lib/a.c",
        "2>lib/a.c:3:1: warning: unused",
        "2>lib/a.c:7:1: error: expected ';'",
        "2>error: CC lib/a.c failed (exit code 1)",
        "explain: lib:compile:a.c: failed: no record of a previous run in this tree",
        "skipped: LINK lib/x (needs CC lib/a.c, which failed)",
        "explain: lib:link: skipped: needs lib:compile:a.c",
    ]
    summary = {
        "config": "chk-amd64",
        "result": "failed",
        "seconds": 1.5,
        "jobs": 2,
        "passes": {},
        "counts": dict.fromkeys(
            ("ran", "cached", "up_to_date", "failed", "skipped", "not_started", "interrupted"), 0
        ),
    }
    logs.finish(summary)
    assert (tmp_path / "out/build.err").read_text() == (
        "lib: error: CC lib/a.c failed (exit code 1)\nlib: lib/a.c:7:1: error: expected ';'\n"
    )
    assert (tmp_path / "out/build.wrn").read_text() == (
        "lib/sources:4: undefined macro FOO\nlib: lib/a.c:3:1: warning: unused\n"
    )
    assert json.loads((tmp_path / "out/build.json").read_text())["result"] == "failed"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "build.err",
        "build.json",
        "build.log",
        "build.wrn",
    ]


def test_old_outputs_and_depfiles_are_gone_when_the_command_starts(tmp_path: Path) -> None:
    (tmp_path / "p/out").mkdir(parents=True)
    (tmp_path / "p/out/x").write_text("old")
    (tmp_path / "p/out/x.d").write_text("x: stale.h\n")
    script = "import os; print(os.path.exists('p/out/x'), os.path.exists('p/out/x.d'))"
    run = SubprocessExecutor(tmp_path).run(command(tmp_path, script, depfile="p/out/x.d"))
    assert run.output == b"False False\n"
