"""`enlist cache stats|verify|gc`: what a user sees, and what remains in the cache afterwards."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from enlist.toolcache.store import make_writable
from feedserver import FeedServer
from toolcache_support import (
    PLATFORM,
    Enlistment,
    locked,
    new_enlistment,
    packages_toml,
    publish_tool,
)


def restored(e: Enlistment, feed: Path) -> str:
    digest = publish_tool(feed)[PLATFORM]
    e.write(packages_toml("../feed"))
    assert e.run("lock").code == 0 and e.run("restore").code == 0
    return digest


def test_stats_counts_archives_trees_and_enlistments(enlistment: Enlistment, feed: Path) -> None:
    restored(enlistment, feed)
    result = enlistment.run("cache", "stats")
    lines = result.out.splitlines()
    assert lines[0] == f"toolcache    {enlistment.cache}/toolcache"
    assert lines[1].startswith("archives     1 (") and lines[2].startswith("trees        1 (")
    assert lines[3:] == [
        "enlistments  1 registered",
        "temporary    0 entries",
        f"action cache 0 entries (0 B) in {enlistment.cache}/ac",
        f"CAS          0 blobs (0 B) in {enlistment.cache}/cas",
    ]
    data = json.loads(enlistment.run("cache", "stats", "--json").out)
    assert (data["archives"], data["trees"], data["enlistments"]) == (1, 1, 1)


def test_verify_finds_a_changed_file_in_a_tree_and_repair_restores_it(
    enlistment: Enlistment, feed: Path
) -> None:
    digest = restored(enlistment, feed)
    tree = enlistment.trees()[0]
    tool = tree / "bin" / "tool"
    make_writable(tree)
    os.chmod(tool, 0o755)
    tool.write_text("#!/bin/sh\necho tampered\n")
    result = enlistment.run("cache", "verify")
    assert result.code == 3
    assert result.out == (
        f"verify: corrupt tree {digest}: bin/tool has changed\n"
        "verify: 1 archives, 1 trees, 0 action-cache entries and 0 CAS blobs checked, 1 corrupt\n"
    )
    repaired = enlistment.run("cache", "verify", "--repair")
    assert repaired.code == 0 and f"verify: repaired {digest}" in repaired.out
    assert "echo hello" in tool.read_text()
    assert enlistment.run("cache", "verify").out == (
        "verify: 1 archives, 1 trees, 0 action-cache entries and 0 CAS blobs checked, all good\n"
    )


def test_repair_fetches_a_corrupt_archive_again_from_its_feed(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    locked(enlistment, server, feed)
    assert enlistment.run("restore").code == 0
    server.seen.clear()
    blob = enlistment.blobs()[0]
    os.chmod(blob, 0o644)
    blob.write_bytes(b"bit rot")
    extra = enlistment.trees()[0] / "share" / "extra"
    make_writable(enlistment.trees()[0])
    extra.write_text("not from the archive")
    result = enlistment.run("cache", "verify")
    assert result.code == 3
    assert f"verify: corrupt archive {blob.name}: content hashes to " in result.out
    assert f"verify: corrupt tree {blob.name}: unexpected share/extra" in result.out
    repaired = enlistment.run("cache", "verify", "--repair")
    assert repaired.code == 0, repaired.text
    assert len(server.gets(f"tool/1.0/tool-1.0-{PLATFORM}.tar.gz")) == 1
    assert enlistment.run("cache", "verify").out.endswith("all good\n")


def test_repair_without_a_source_removes_the_entry(enlistment: Enlistment, feed: Path) -> None:
    digest = restored(enlistment, feed)
    shutil.rmtree(feed)
    enlistment.lock_path.unlink()
    blob = enlistment.blobs()[0]
    os.chmod(blob, 0o644)
    blob.write_bytes(b"bit rot")
    result = enlistment.run("cache", "verify", "--repair")
    assert f"verify: removed {digest} (no known lock pins it" in result.out
    assert enlistment.blobs() == [] and enlistment.trees() == []


def test_gc_keeps_what_recent_enlistments_use_and_removes_the_rest(
    tmp_path: Path, feed: Path, isolated: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    old = new_enlistment(tmp_path / "old", cache)
    new = new_enlistment(tmp_path / "new", cache)
    publish_tool(feed, "1.0")
    publish_tool(feed, "2.0")
    for e, version in ((old, "1.0"), (new, "2.0")):
        e.write(packages_toml(str(feed)).replace('"1.0"', f'"{version}"'))
        assert e.call("lock").code == 0 and e.call("restore").code == 0
    assert len(new.trees()) == 2
    long_ago = time.time() - 40 * 86400
    for record in (cache / "toolcache" / "registry").glob("*.json"):
        if str(old.root) in record.read_text():
            os.utime(record, (long_ago, long_ago))
    dry = new.call("cache", "gc", "--dry-run")
    assert dry.out.startswith("gc: toolcache: would remove 1 entries (") and len(new.trees()) == 2
    result = new.call("cache", "gc", "--days", "30")
    assert result.code == 0
    assert (
        result.out.startswith("gc: toolcache: removed 1 entries (")
        and "kept 1; 1 stale enlistment records" in result.out
    )
    assert len(new.trees()) == 1 and len(new.blobs()) == 1
    assert new.call("restore").out == "restore: 1 package up to date\n"
    assert old.call("restore").out.startswith(
        "restore: 1 package ready (1 fetched"
    )  # it comes back on demand
