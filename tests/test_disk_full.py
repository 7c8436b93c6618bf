"""A disk that fills up during a build or a restore: a clear environment error (exit 3), no file left half
written where a later run would trust it, and a normal result once there is room again.

The disk is a small tmpfs mounted for the test when this machine allows it, else RLIMIT_FSIZE (see
smalldisk.py); the test names which one it used when it fails."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from enlist.rules.spec import ToolTree
from enlist.store import verify
from enlist.toolcache.layout import Layout
from enlist.toolcache.store import Store
from realkit import PROGRAM_OUTPUT, make_tree
from smalldisk import small_disk
from toolcache_support import TOOL, new_enlistment, packages_toml, tool_tar

ROOMY = 16 << 20


def test_a_full_disk_during_a_build_is_an_environment_error_and_leaves_nothing_corrupt(
    tmp_path: Path, warm_tools: dict[str, ToolTree]
) -> None:
    with small_disk(tmp_path / "disk", ROOMY) as disk:
        tree = make_tree(disk.path, warm_tools, cache=tmp_path / "cache")
        build = [sys.executable, "-m", "enlist", "build"]
        done = disk.run(build, cwd=tree.root, env=tree.env())
        assert done.returncode == 0, done.stdout + done.stderr
        reference = tree.snapshot()
        tree.clean()
        for area in ("ac", "cas"):  # nothing cached: every action must write its outputs
            for path in sorted((tree.cache / area).rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
        disk.resize(300_000 if disk.mounted else 150_000)

        full = disk.run(build, cwd=tree.root, env=tree.env())
        assert full.returncode == 3, f"{disk.kind}: {full.stdout}{full.stderr}"
        assert "error: the build failed for lack of disk space (" in full.stderr, disk.kind
        assert "hint: free disk space in the enlistment or the cache (ENLIST_CACHE)" in full.stderr
        assert "Traceback" not in full.stderr
        left = tree.snapshot()
        assert [path for path in left if left[path] != reference.get(path)] == [], disk.kind  # only whole files
        assert list(tree.root.rglob(".*.tmp")) == []
        assert verify.verify(tree.cache).problems == ()  # the cache holds only whole entries

        disk.resize(ROOMY)
        again = disk.run(build, cwd=tree.root, env=tree.env())
        assert again.returncode == 0, again.stdout + again.stderr
        assert tree.snapshot() == reference
        assert tree.run_program() == PROGRAM_OUTPUT[0]


@pytest.mark.parametrize("phase", ["download", "unpack"])
def test_a_full_disk_during_restore_is_an_environment_error_and_leaves_nothing_trusted(
    tmp_path: Path, feed: Path, isolated: None, phase: str
) -> None:
    payload = os.urandom(600_000)  # incompressible: the archive and the unpacked file are both this big
    tool_tar(feed / TOOL, text="roomy", payload=payload)
    with small_disk(tmp_path / "disk", ROOMY) as disk:
        e = new_enlistment(tmp_path / "enlistment", disk.path / "cache")
        e.write(packages_toml(feed.as_uri()).replace('"linux-x86_64", "macos-arm64"', '"linux-x86_64"'))
        restore = [sys.executable, "-m", "enlist", "restore"]
        assert e.call("lock").code == 0
        if phase == "unpack":  # the archive is in the cache already; its tree is not
            assert disk.run(restore, cwd=e.root, env=e.process_env()).returncode == 0
            (tree,) = e.trees()
            Store(Layout.at(e.cache)).discard(tree)
            assert e.trees() == [] and len(e.blobs()) == 1
            disk.resize(900_000 if disk.mounted else 400_000)
        else:
            disk.resize(400_000)

        full = disk.run(restore, cwd=e.root, env=e.process_env())
        assert full.returncode == 3, f"{disk.kind}: {full.stdout}{full.stderr}"
        assert f"error: no space left for the toolcache in {e.cache}/toolcache" in full.stderr, disk.kind
        assert "Traceback" not in full.stderr
        assert e.trees() == []
        assert len(e.blobs()) == (1 if phase == "unpack" else 0)  # never a blob that is not whole and verified
        assert list((e.cache / "toolcache" / "tmp").glob("*.tree-*")) == []

        disk.resize(ROOMY)
        again = disk.run(restore, cwd=e.root, env=e.process_env())
        assert again.returncode == 0, again.stderr
        checked = disk.run([sys.executable, "-m", "enlist", "cache", "verify"], cwd=e.root, env=e.process_env())
        assert checked.returncode == 0 and checked.stdout.endswith("all good\n"), checked.stdout
        (tree,) = e.trees()
        assert (tree / "share/README").read_bytes() == payload
        assert (tree / "bin/tool").read_text() == "#!/bin/sh\necho roomy\n"
