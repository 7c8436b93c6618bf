"""`enlist cache gc` and `enlist cache stats` on the action cache and its CAS: what is kept, what goes, and that
builds after a gc (or during one) are still right."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import enginekit as ek
from enlist.digest import of_bytes
from enlist.engine import traces
from enlist.store import maintenance
from enlist.store.local import LocalStore
from enlist.store.maintenance import BLOB_GRACE, GcReport, Swept
from toolcache_support import Enlistment

DAY = 86400.0


def entry_path(cache: Path, key: str) -> Path:
    return cache / "ac" / "sha256" / key[:2] / key


def blob_path(cache: Path, digest: str) -> Path:
    return cache / "cas" / "sha256" / digest[:2] / digest


def put_trace(store: LocalStore, name: str, outputs: list[str], log: str | None = None) -> str:
    key = of_bytes(name.encode())
    trace = traces.Trace(tuple(traces.Output(f"obj/{d[:8]}.o", d, False) for d in outputs), log, 0.1)
    store.put_entry(key, traces.encode_trace(trace))
    return key


def age(path: Path, when: float) -> None:
    os.utime(path, (when, when))


def files(cache: Path, area: str) -> set[str]:
    return {p.name for p in (cache / area / "sha256").glob("??/*") if p.is_file()}


def sizes(cache: Path, area: str) -> int:
    return sum(p.stat().st_size for p in (cache / area / "sha256").glob("??/*") if p.is_file())


# -- mark and sweep, on real files --


def test_gc_removes_unused_entries_then_the_blobs_only_they_named(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    store = LocalStore(cache)
    shared, old_only, recent_only = (store.put_bytes(b) for b in (b"shared", b"old output", b"recent output"))
    log, orphan, fresh = (store.put_bytes(b) for b in (b"warning: unused\n", b"orphan", b"being stored"))
    recent = put_trace(store, "recent", [shared, recent_only], log)
    old = put_trace(store, "old", [shared, old_only])
    deps = of_bytes(b"deps")
    store.put_entry(deps, traces.encode_deps(("lib/a.h",)))
    old_deps = of_bytes(b"old deps")
    store.put_entry(old_deps, traces.encode_deps(("lib/b.h",)))
    damaged = of_bytes(b"damaged")
    store.put_entry(damaged, b'{"kind":"outputs","v":0}')  # whole, but not an entry of this version
    # Blobs enter the CAS by hard link, which `utime` cannot make older (the link moved their ctime to
    # now): gc runs two hours from now instead, when every blob is past its grace but `fresh`.
    later = time.time() + 2 * BLOB_GRACE
    for key in (old, old_deps):
        age(entry_path(cache, key), later - 40 * DAY)
    age(blob_path(cache, fresh), later - 60)
    before = {area: files(cache, area) for area in ("ac", "cas")}
    gone_entries = sum(entry_path(cache, k).stat().st_size for k in (old, old_deps, damaged))
    gone_blobs = sum(blob_path(cache, d).stat().st_size for d in (old_only, orphan))

    expected = GcReport(Swept(3, gone_entries, 2), 1, Swept(2, gone_blobs, 4), 1)
    assert maintenance.gc(cache, days=30, now=later, dry_run=True) == expected
    assert {area: files(cache, area) for area in ("ac", "cas")} == before  # a dry run deletes nothing
    assert maintenance.gc(cache, days=30, now=later) == expected
    assert files(cache, "ac") == {recent, deps}
    assert files(cache, "cas") == {shared, recent_only, log, fresh}
    assert maintenance.gc(cache, days=30, now=later) == GcReport(Swept(0, 0, 2), 0, Swept(0, 0, 4), 1)
    assert store.get_entry(recent) is not None and store.fetch_file(shared, str(tmp_path / "x.o"), False)


def test_stats_and_gc_from_the_command_line(enlistment: Enlistment) -> None:
    cache = enlistment.cache
    store = LocalStore(cache)
    kept_out, old_out = store.put_bytes(b"kept output"), store.put_bytes(b"old output")
    recent = put_trace(store, "recent", [kept_out])
    old = put_trace(store, "old", [old_out])
    age(entry_path(cache, old), time.time() - 40 * DAY - 600)
    entry_bytes, blob_bytes = sizes(cache, "ac"), sizes(cache, "cas")

    lines = enlistment.run("cache", "stats").out.splitlines()
    assert lines[5] == f"action cache 2 entries ({entry_bytes} B) in {cache}/ac; the least recently used 40 days ago"
    assert lines[6] == f"CAS          2 blobs ({blob_bytes} B) in {cache}/cas"
    data = json.loads(enlistment.run("cache", "stats", "--json").out)
    assert (data["action_cache_entries"], data["action_cache_bytes"]) == (2, entry_bytes)
    assert (data["cas_blobs"], data["cas_bytes"]) == (2, blob_bytes)
    assert 40 * DAY + 600 <= data["oldest_entry_seconds"] < 40 * DAY + 900

    old_size = entry_path(cache, old).stat().st_size
    dry = enlistment.run("cache", "gc", "--dry-run")
    assert dry.code == 0
    assert dry.out.splitlines()[1:] == [
        f"gc: action cache: would remove 1 entries ({old_size} B), kept 1",
        "gc: CAS: would remove 0 blobs (0 B), kept 2 (1 that no entry names, written in the last hour)",
        "gc: would remove 0 temporary leftovers",
    ]
    assert files(cache, "ac") == {recent, old}
    done = enlistment.run("cache", "gc")
    assert done.out.splitlines()[1] == f"gc: action cache: removed 1 entries ({old_size} B), kept 1"
    assert files(cache, "ac") == {recent}
    assert files(cache, "cas") == {kept_out, old_out}  # the old output was linked in the last hour: kept
    data = json.loads(enlistment.run("cache", "stats", "--json").out)
    assert (data["action_cache_entries"], data["cas_blobs"]) == (1, 2)
    assert data["oldest_entry_seconds"] < 600


def test_gc_refuses_a_negative_number_of_days(enlistment: Enlistment) -> None:
    result = enlistment.call("cache", "gc", "--days", "-1")
    assert result.code == 2
    assert "error: argument --days: expected a number of days, 0 or more, not '-1'" in result.err
    assert "Traceback" not in result.err


# -- builds: hits keep entries alive, and a gc never makes a build wrong --


def outcomes(output: str) -> dict[str, str]:
    """action id -> what happened ("cached", "ran", ...), without the why."""
    return {action: said.partition(":")[0] for action, said in ek.verdicts(output).items()}


@pytest.fixture
def kit(tmp_path: Path) -> ek.Kit:
    return ek.make_kit(tmp_path / "tree")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def outputs(kit: ek.Kit) -> dict[str, bytes]:
    """Every object, library, program, test output and published file (not the compiler's depfiles)."""
    found = sorted([*kit.root.glob(f"*/obj/{ek.CONFIG}/*"), *kit.root.glob(f"public/{ek.CONFIG}/*/*")])
    return {p.relative_to(kit.root).as_posix(): p.read_bytes() for p in found if p.suffix != ".d"}


def mtimes(cache: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in (cache / "ac" / "sha256").glob("??/*")}


CACHED = 8  # every action of the kit but the publish, which is a copy and never cached


def test_a_hit_marks_an_old_entry_used_so_gc_keeps_it(kit: ek.Kit, cache: Path) -> None:
    assert ek.build(kit, cache=cache)[0] == 0
    entries = sorted((cache / "ac" / "sha256").glob("??/*"))
    hours_ago = time.time() - 5 * 3600
    for path in entries:
        age(path, hours_ago)
    code, out = ek.build(kit, cache=cache, clean=True)
    assert code == 0 and list(outcomes(out).values()).count("cached") == CACHED
    assert all(abs(m - hours_ago) < 1 for m in mtimes(cache).values())  # used today already: nothing written
    long_ago = time.time() - 40 * DAY
    for path in entries:
        age(path, long_ago)
    code, out = ek.build(kit, cache=cache, clean=True)
    assert code == 0 and list(outcomes(out).values()).count("cached") == CACHED
    assert min(mtimes(cache).values()) > time.time() - 600  # every entry a hit read is used now
    report = maintenance.gc(cache, days=30, now=time.time() + 2 * BLOB_GRACE)
    assert report.entries.removed == 0 and report.blobs.removed == 0


def test_after_gc_a_build_runs_what_gc_removed_and_ends_identical(kit: ek.Kit, cache: Path) -> None:
    assert ek.build(kit, cache=cache)[0] == 0
    reference = outputs(kit)
    kit.write("other/other.c", "int other(void) { return 8; }\n")
    assert ek.build(kit, cache=cache)[0] == 0  # entries and blobs for the edited `other`
    long_ago = time.time() - 40 * DAY
    for path in (cache / "ac" / "sha256").glob("??/*"):
        age(path, long_ago)
    kit.write("other/other.c", ek.SOURCES["other/other.c"])
    code, out = ek.build(kit, cache=cache)  # `other` comes back from the cache: its entries are used again
    assert code == 0 and outcomes(out)["other:compile:other.c"] == "cached"
    report = maintenance.gc(cache, days=30, now=time.time() + 2 * BLOB_GRACE)
    assert report.entries.removed > 0 and report.blobs.removed > 0
    code, out = ek.build(kit, cache=cache, clean=True)
    assert code == 0, out
    v = outcomes(out)
    assert (v["other:compile:other.c"], v["other:archive"]) == ("cached", "cached")
    assert (v["lib:compile:greet.c"], v["app:link"]) == ("ran", "ran")  # their entries were gone
    assert outputs(kit) == reference
    code, out = ek.build(kit, cache=cache, clean=True)
    assert code == 0 and list(outcomes(out).values()).count("cached") == CACHED  # stored again


class GcBetweenLookupAndRestore(LocalStore):
    """The real store, with a gc that deletes an entry's blobs just after a build read the entry."""

    def get_entry(self, key: str) -> bytes | None:
        data = super().get_entry(key)
        trace = traces.decode_trace(data)
        if trace is not None:
            for d in [o.digest for o in trace.outputs] + ([trace.log] if trace.log else []):
                blob_path(self.root, d).unlink(missing_ok=True)
        return data


def test_a_blob_gone_between_lookup_and_restore_is_a_miss(
    kit: ek.Kit, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ek.build(kit, cache=cache)[0] == 0
    reference = outputs(kit)
    monkeypatch.setattr("enlist.app.build.LocalStore", GcBetweenLookupAndRestore)
    code, out = ek.build(kit, cache=cache, clean=True)
    assert code == 0, out
    assert set(outcomes(out).values()) == {"ran"}
    assert outputs(kit) == reference
    monkeypatch.undo()
    code, out = ek.build(kit, cache=cache, clean=True)
    assert code == 0 and list(outcomes(out).values()).count("cached") == CACHED
    assert outputs(kit) == reference
