"""Damaged bytes in the machine cache and the build tree: CAS blobs, action-cache entries, published files and
unpacked tool trees. The next build or `enlist cache verify` finds each one, repairs it or refuses, and never
uses it silently: every build below ends byte-identical to a clean build."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from enlist.digest import of_file
from enlist.engine import traces
from enlist.store import verify
from enlist.store.local import LocalStore, unframe
from enlist.toolcache.store import make_writable
from feedserver import FeedServer
from realkit import CONFIG, PROGRAM_OUTPUT, PUBLIC, PUBLISHED, Tree, differences
from toolcache_support import Enlistment, locked


def flip(path: Path, offset: int) -> None:
    """Flip one bit of a file in place, keeping its mode (the cache's files are read-only)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    os.chmod(path, mode | stat.S_IWUSR)
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))
    os.chmod(path, mode)


def area(cache: Path, name: str) -> list[Path]:
    return sorted(p for p in (cache / name / "sha256").glob("??/*") if p.is_file() and not p.name.startswith("."))


@pytest.fixture
def built(tree: Tree) -> tuple[Tree, dict[str, bytes]]:
    """A tree built once (its cache full), then cleaned: the next build can only come from the cache."""
    tree.build()
    reference = tree.snapshot()
    tree.clean()
    return tree, reference


DAMAGE: dict[str, Callable[[Path], None]] = {
    "a flipped bit in the header": lambda p: flip(p, 3),
    "a flipped bit in the body": lambda p: flip(p, 100),
    "truncated": lambda p: (os.chmod(p, 0o644), p.write_bytes(p.read_bytes()[:-7])),  # type: ignore[func-returns-value]
    "emptied": lambda p: (os.chmod(p, 0o644), p.write_bytes(b"")),  # type: ignore[func-returns-value]
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_action_cache_entries_are_never_used(built: tuple[Tree, dict[str, bytes]], damage: str) -> None:
    tree, reference = built
    entries = area(tree.cache, "ac")
    for entry in entries:
        DAMAGE[damage](entry)
    report = verify.verify(tree.cache)
    assert [p.area for p in report.problems] == ["action-cache entry"] * len(entries)
    done = tree.build("--explain")
    assert "cached:" not in done.stdout  # every action ran again: no damaged entry counted as a hit
    assert differences(tree.snapshot(), reference) == []
    assert verify.verify(tree.cache).problems == ()  # read as misses, deleted, written anew


def test_damaged_cas_blobs_are_never_served(built: tuple[Tree, dict[str, bytes]]) -> None:
    tree, reference = built
    blobs = area(tree.cache, "cas")
    for number, blob in enumerate(blobs):
        flip(blob, number * 7)
    checked = tree.enlist("cache", "verify")
    assert checked.returncode == 3
    assert checked.stdout.count("verify: corrupt CAS blob ") == len(blobs)
    assert "content hashes to " in checked.stdout
    assert checked.stderr.endswith("hint: run `enlist cache verify --repair`\n")
    tree.build()
    assert differences(tree.snapshot(), reference) == []
    assert tree.run_program() == PROGRAM_OUTPUT[0]
    assert verify.verify(tree.cache).problems == ()


def test_verify_repair_drops_bad_entries_and_blobs_and_the_next_build_is_whole(
    built: tuple[Tree, dict[str, bytes]],
) -> None:
    tree, reference = built
    entries, blobs = area(tree.cache, "ac"), area(tree.cache, "cas")
    flip(entries[0], 80)
    flip(blobs[0], 5)
    repaired = tree.enlist("cache", "verify", "--repair")
    assert repaired.returncode == 0, repaired.stderr
    assert f"verify: removed action-cache entry {entries[0].name}\n" in repaired.stdout
    assert f"verify: removed CAS blob {blobs[0].name}\n" in repaired.stdout
    assert not entries[0].exists() and not blobs[0].exists()
    assert verify.verify(tree.cache).problems == ()
    tree.build()
    assert differences(tree.snapshot(), reference) == []


def test_an_entry_whose_command_output_is_gone_is_a_miss(built: tuple[Tree, dict[str, bytes]]) -> None:
    tree, reference = built
    logs = set()
    for entry in area(tree.cache, "ac"):
        trace = traces.decode_trace(unframe(entry.read_bytes()))
        if trace is not None and trace.log is not None:
            logs.add(trace.log)
    assert logs  # the test's output, at least
    for log in logs:
        os.unlink(tree.cache / "cas/sha256" / log[:2] / log)
    assert {p.area for p in verify.verify(tree.cache).problems} == {"action-cache entry"}  # incomplete entries
    done = tree.build("--explain")
    assert "cached: TEST" not in done.stdout and "words=3 twice=6" in done.stdout  # it ran, and said so
    assert differences(tree.snapshot(), reference) == []


def test_a_published_file_changed_in_place_is_published_again(tree: Tree) -> None:
    tree.build()
    reference = tree.snapshot()
    app = tree.root / PUBLIC / "bin/app"
    flip(app, 200)  # an ordinary write: a new modification time
    done = tree.build("--explain")
    assert "PUBLISH projects/app pass2" in done.stdout
    assert differences(tree.snapshot(), reference) == []


def test_the_manifest_names_what_public_holds_after_each_build(tree: Tree) -> None:
    """The published files the last manifest named are read while the build runs; the ones the build publishes
    anew must still be read again afterwards."""
    manifest = tree.root / "out" / CONFIG / "manifest.json"
    for variant in (0, 1, 0):
        tree.use(variant)
        tree.build()
        published = json.loads(manifest.read_text())["published"]
        assert published == {path: of_file(tree.root / path) for path in PUBLISHED}
        assert tree.run_program() == PROGRAM_OUTPUT[variant]


def test_a_published_file_changed_behind_the_builds_back_is_refused_then_repaired(tree: Tree) -> None:
    tree.build()
    reference = tree.snapshot()
    header = tree.root / PUBLIC / "inc/words.h"
    before = header.stat()
    flip(header, 10)
    os.utime(header, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, time and inode: bit rot
    (tree.root / "projects/greet/greet.c").write_text('const char *greet(void) { return "hi"; }\n')
    refused = tree.enlist("build")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert (
        f"error: a published file changed after the build published it: {PUBLIC}/inc/words.h (sha256 "
    ) in refused.stderr
    assert "hint: it was removed and the manifest was not written" in refused.stderr
    assert not header.exists()
    (tree.root / "projects/greet/greet.c").write_text('const char *greet(void) { return "hello"; }\n')
    tree.build()
    assert differences(tree.snapshot(), reference) == []


def test_a_damaged_tool_tree_is_found_and_its_repair_clears_the_action_cache(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    locked(enlistment, server, feed)
    assert enlistment.run("restore").code == 0
    store = LocalStore(enlistment.cache)
    store.put_entry("ab" * 32, b'{"deps":[],"kind":"deps","v":1}')  # made by a build that used the tool
    tree = enlistment.trees()[0]
    make_writable(tree)
    flip(tree / "bin" / "tool", 12)
    found = enlistment.run("cache", "verify")
    assert found.code == 3
    assert f"verify: corrupt tree {tree.name}: bin/tool has changed\n" in found.out
    repaired = enlistment.run("cache", "verify", "--repair")
    assert repaired.code == 0
    assert "verify: cleared the action cache (1 entries): actions may have run with a damaged tool\n" in repaired.out
    assert store.get_entry("ab" * 32) is None
    assert enlistment.run("cache", "verify").out.endswith(
        "1 archives, 1 trees, 0 action-cache entries and 0 CAS blobs checked, all good\n"
    )
