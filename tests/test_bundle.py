"""`enlist cache export BUNDLE` / `enlist cache import BUNDLE`: a lock's archives carried to a machine with no feed,
against a real HTTP feed on 127.0.0.1 that is stopped before the bundle is used."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from feedserver import FeedServer
from toolcache_support import PLATFORM, TOOL, Enlistment, locked, sha256_of, wipe


def export(e: Enlistment, bundle: Path, *args: str) -> None:
    result = e.run("cache", "export", str(bundle), *args)
    assert result.code == 0, result.text


def members(bundle: Path) -> list[tuple[str, int, int, int]]:
    with tarfile.open(bundle) as tar:
        return [(m.name, m.mtime, m.uid, m.mode) for m in tar]


def test_export_takes_every_pin_of_the_lock_then_import_lets_restore_work_with_no_feed(
    enlistment: Enlistment, server: FeedServer, feed: Path, tmp_path: Path
) -> None:
    digests = locked(enlistment, server, feed)  # an empty cache: export fetches what the lock pins
    bundle = tmp_path / "release.bundle"
    result = enlistment.run("cache", "export", str(bundle))
    assert result.code == 0, result.text
    assert "2 archives for 2 pins" in result.out and "2 fetched from their feeds" in result.out
    assert [name for name, *_ in members(bundle)] == [
        "enlist-bundle.json",
        "packages.lock",
        "sha256",
        *(f"sha256/{d}" for d in sorted(digests.values())),
    ]
    assert {(mtime, uid) for _, mtime, uid, _ in members(bundle)} == {(0, 0)}
    with tarfile.open(bundle) as tar:
        lock = tar.extractfile("packages.lock")
        assert lock is not None and lock.read() == enlistment.lock_path.read_bytes()
    server.stop()  # from here on, no feed
    wipe(enlistment.cache)
    imported = enlistment.run("cache", "import", str(bundle))
    assert imported.code == 0, imported.text
    assert imported.out.startswith("import: 2 archives for 2 pins (lock ")
    assert "all verified: 2 added, 0 already in the cache" in imported.out
    restored = enlistment.run("restore")
    assert restored.code == 0, restored.text
    assert [t.name for t in enlistment.trees()] == [digests[PLATFORM]]
    again = enlistment.run("cache", "import", str(bundle))
    assert "0 added, 2 already in the cache" in again.out


def test_a_bundle_is_the_same_bytes_when_exported_again(
    enlistment: Enlistment, server: FeedServer, feed: Path, tmp_path: Path
) -> None:
    locked(enlistment, server, feed)
    export(enlistment, tmp_path / "a.bundle")
    export(enlistment, tmp_path / "b.bundle")  # now from the cache, not the feed
    assert sha256_of(tmp_path / "a.bundle") == sha256_of(tmp_path / "b.bundle")


def test_export_can_keep_to_some_platforms(
    enlistment: Enlistment, server: FeedServer, feed: Path, tmp_path: Path
) -> None:
    digests = locked(enlistment, server, feed)
    export(enlistment, tmp_path / "linux.bundle", "--platform", PLATFORM)
    assert [n for n, *_ in members(tmp_path / "linux.bundle")][3:] == [f"sha256/{digests[PLATFORM]}"]
    with tarfile.open(tmp_path / "linux.bundle") as tar:
        header = tar.extractfile("enlist-bundle.json")
        assert header is not None
        assert [p["platform"] for p in json.loads(header.read())["pins"]] == [PLATFORM]


def test_export_names_a_pin_no_feed_has_any_more(
    enlistment: Enlistment, server: FeedServer, feed: Path, tmp_path: Path
) -> None:
    locked(enlistment, server, feed)
    (feed / TOOL).unlink()
    result = enlistment.run("cache", "export", str(tmp_path / "x.bundle"))
    assert result.code == 3
    assert f"{server.url}{TOOL}: not found (HTTP 404)" in result.err
    assert not (tmp_path / "x.bundle").exists()


def rewrite(bundle: Path, target: Path, change: dict[str, bytes | None]) -> None:
    """A copy of a bundle with some members replaced (bytes) or left out (None)."""
    with tarfile.open(bundle) as src, tarfile.open(target, "w") as out:
        for member in src:
            if member.name in change:
                data = change[member.name]
                if data is None:
                    continue
                member.size = len(data)
                out.addfile(member, io.BytesIO(data))
            else:
                out.addfile(member, src.extractfile(member) if member.isreg() else None)


def test_import_verifies_every_archive_and_stores_none_that_differs(
    enlistment: Enlistment, server: FeedServer, feed: Path, tmp_path: Path
) -> None:
    digests = locked(enlistment, server, feed)
    bundle = tmp_path / "good.bundle"
    export(enlistment, bundle)
    wipe(enlistment.cache)
    bad = tmp_path / "bad.bundle"
    rewrite(bundle, bad, {f"sha256/{digests[PLATFORM]}": b"not the archive"})
    result = enlistment.run("cache", "import", str(bad))
    assert result.code == 3
    assert f"hash mismatch for tool 1.0 ({PLATFORM}) in the bundle: expected sha256 {digests[PLATFORM]}" in result.err
    assert digests[PLATFORM] not in [b.name for b in enlistment.blobs()]


def test_import_refuses_an_incomplete_or_altered_bundle(
    enlistment: Enlistment, server: FeedServer, feed: Path, tmp_path: Path
) -> None:
    digests = locked(enlistment, server, feed)
    bundle = tmp_path / "good.bundle"
    export(enlistment, bundle)
    missing = tmp_path / "missing.bundle"
    rewrite(bundle, missing, {f"sha256/{digests['macos-arm64']}": None})
    result = enlistment.run("cache", "import", str(missing))
    assert result.code == 3
    assert f"{missing} is incomplete: no archive for tool 1.0 (macos-arm64)" in result.err
    altered = tmp_path / "altered.bundle"
    rewrite(bundle, altered, {"packages.lock": enlistment.lock_path.read_bytes() + b"\n"})
    result = enlistment.run("cache", "import", str(altered))
    assert result.code == 3 and "its packages.lock has sha256" in result.err
    (tmp_path / "junk.bundle").write_bytes(b"junk")
    result = enlistment.run("cache", "import", str(tmp_path / "junk.bundle"))
    assert result.code == 2 and "not a bundle" in result.err
