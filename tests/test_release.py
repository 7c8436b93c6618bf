"""Packages of official builds without a compiler: deterministic archives, the drop, and folder feeds (real files,
real tar and gzip; tests/test_official_build.py makes them from a real build)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from enlist.errors import EnvironmentFault, ExitCode, InputError
from enlist.release import archive
from enlist.release.folder import publish_folder
from enlist.release.package import Index, make_drop, read_drop

CONFIG = "chk-amd64"
FILES = {
    f"public/{CONFIG}/inc/lib.h": b"int lib(void);\n",
    f"public/{CONFIG}/lib/liblib.a": b"!<arch>\nnot really an archive\n",
    f"public/{CONFIG}/bin/tool": b"#!/bin/sh\necho tool\n",
}
PROJECTS = {
    "projects/lib": [f"public/{CONFIG}/inc/lib.h", f"public/{CONFIG}/lib/liblib.a"],
    "projects/tool": [f"public/{CONFIG}/bin/tool"],
}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_tree(root: Path, *, mode: int = 0o644, mtime: int = 1_600_000_000) -> None:
    """Published files as a build leaves them; modes and times vary between machines."""
    for rel, data in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o755 if rel.endswith("/tool") else mode)
        os.utime(path, (mtime, mtime))


def manifest(version: str = "3.1.7", config: str = CONFIG) -> dict[str, Any]:
    return {
        "build": {"build_number": 7, "official": True, "version": version},
        "config": config,
        "format": 1,
        "lock": None,
        "published": {rel.replace(CONFIG, config): sha(data) for rel, data in FILES.items()},
        "revision": {"commit": "c" * 40, "dirty": False},
        "toolchain": {"kind": "zig", "target": "x86_64-linux-musl"},
        "tools": {},
    }


def drop_at(root: Path, version: str = "3.1.7") -> Path:
    directory = root / "out" / CONFIG / "packages"
    make_drop(
        directory,
        root=root,
        enlistment="sample",
        manifest=manifest(version),
        published=PROJECTS,
        names={"projects/lib": "lib", "projects/tool": "tool"},
        mtime=1_700_000_000,
    )
    return directory


def test_the_same_members_give_the_same_bytes_whatever_the_files_modes_times_and_umask(tmp_path: Path) -> None:
    digests = []
    for n, (mode, mtime, umask) in enumerate([(0o644, 1, 0o022), (0o600, 2_000_000_000, 0o077)]):
        root = tmp_path / f"tree{n}" / ("deeper/" * n)
        old = os.umask(umask)
        try:
            build_tree(root, mode=mode, mtime=mtime)
            members = [
                archive.Member(rel, source=root / rel, executable=rel.endswith("/tool")) for rel in sorted(FILES)
            ]
            digests.append(archive.write(tmp_path / f"a{n}.tar.gz", members, mtime=1_700_000_000))
        finally:
            os.umask(old)
    assert digests[0] == digests[1] == sha((tmp_path / "a0.tar.gz").read_bytes())


def test_members_are_sorted_owned_by_root_and_normalised(tmp_path: Path) -> None:
    build_tree(tmp_path / "t", mode=0o600)
    members = [archive.Member(rel, source=tmp_path / "t" / rel, executable=rel.endswith("/tool")) for rel in FILES]
    archive.write(tmp_path / "a.tar.gz", [*members, archive.Member("README", data=b"hi\n")], mtime=1234)
    raw = (tmp_path / "a.tar.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0" and not raw[3] & 0x08  # gzip: no mtime, no file name
    with tarfile.open(tmp_path / "a.tar.gz") as tar:
        listing = [(m.name, m.type, oct(m.mode), m.uid, m.gid, m.uname, m.gname, m.mtime) for m in tar]
    dirs = ("public", f"public/{CONFIG}", f"public/{CONFIG}/bin", f"public/{CONFIG}/inc", f"public/{CONFIG}/lib")
    assert [row[0] for row in listing] == [
        "README",
        dirs[0],
        dirs[1],
        dirs[2],
        f"public/{CONFIG}/bin/tool",
        dirs[3],
        f"public/{CONFIG}/inc/lib.h",
        dirs[4],
        f"public/{CONFIG}/lib/liblib.a",
    ]
    modes = {name: mode for name, _, mode, *_ in listing}
    assert modes[f"public/{CONFIG}/bin/tool"] == modes["public"] == "0o755"
    assert modes[f"public/{CONFIG}/inc/lib.h"] == "0o644"  # the 0600 it had on disk is not shipped
    assert {row[3:] for row in listing} == {(0, 0, "", "", 1234)}


@pytest.mark.parametrize("name", ["/abs", "a/../b", "a//b", "a\\b", "./a", ""])
def test_member_names_must_be_plain_relative_paths(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a relative member name"):
        archive.write(tmp_path / "a.tar.gz", [archive.Member(name, data=b"")], mtime=0)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_a_drop_holds_each_package_its_checksum_metadata_and_the_manifest(tmp_path: Path) -> None:
    root = tmp_path / "enl"
    build_tree(root)
    directory = drop_at(root)
    found = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())
    assert found == [
        "index.json",
        "lib/3.1.7/lib-3.1.7-chk-amd64.json",
        "lib/3.1.7/lib-3.1.7-chk-amd64.tar.gz",
        "lib/3.1.7/lib-3.1.7-chk-amd64.tar.gz.sha256",
        "sample/3.1.7/sample-3.1.7-chk-amd64.manifest.json",
        "tool/3.1.7/tool-3.1.7-chk-amd64.json",
        "tool/3.1.7/tool-3.1.7-chk-amd64.tar.gz",
        "tool/3.1.7/tool-3.1.7-chk-amd64.tar.gz.sha256",
    ]
    pkg = directory / "lib/3.1.7"
    meta = json.loads((pkg / "lib-3.1.7-chk-amd64.json").read_text())
    assert meta == {
        "commit": "c" * 40,
        "config": CONFIG,
        "enlistment": "sample",
        "files": {rel: sha(FILES[rel]) for rel in PROJECTS["projects/lib"]},
        "format": 1,
        "name": "lib",
        "projects": ["projects/lib"],
        "version": "3.1.7",
    }
    assert archive.read_member(pkg / "lib-3.1.7-chk-amd64.tar.gz", "enlist-package.json") == (
        pkg / "lib-3.1.7-chk-amd64.json"
    ).read_bytes()
    checked = subprocess.run(["sha256sum", "-c", "lib-3.1.7-chk-amd64.tar.gz.sha256"], cwd=pkg, check=False)
    assert checked.returncode == 0
    index = Index.parse((directory / "index.json").read_text())
    assert [(p.name, p.version, p.config, p.file) for p in index.packages] == [
        ("lib", "3.1.7", CONFIG, "lib/3.1.7/lib-3.1.7-chk-amd64.tar.gz"),
        ("tool", "3.1.7", CONFIG, "tool/3.1.7/tool-3.1.7-chk-amd64.tar.gz"),
    ]
    manifest_file = directory / index.manifests[0].file
    assert json.loads(manifest_file.read_text()) == manifest()
    assert read_drop(directory).index == index


def test_a_drop_is_byte_identical_when_made_again_elsewhere(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b" / "elsewhere"
    build_tree(first, mode=0o644, mtime=5)
    build_tree(second, mode=0o640, mtime=999_999)
    contents = []
    for root in (first, second):
        directory = drop_at(root)
        contents.append({p.relative_to(directory): p.read_bytes() for p in directory.rglob("*") if p.is_file()})
    assert contents[0] == contents[1]


def test_a_published_file_that_changed_after_the_build_is_not_packaged(tmp_path: Path) -> None:
    root = tmp_path / "enl"
    build_tree(root)
    (root / f"public/{CONFIG}/inc/lib.h").write_text("int lib(int);\n")
    with pytest.raises(EnvironmentFault, match=f"public/{CONFIG}/inc/lib.h changed after the build"):
        drop_at(root)
    assert not (root / "out" / CONFIG / "packages").exists()


def test_a_drop_with_a_changed_archive_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "enl"
    build_tree(root)
    directory = drop_at(root)
    with (directory / "tool/3.1.7/tool-3.1.7-chk-amd64.tar.gz").open("ab") as f:
        f.write(b"x")
    with pytest.raises(EnvironmentFault, match="changed since it was packaged"):
        read_drop(directory)
    with pytest.raises(InputError, match="no packages in"):
        read_drop(tmp_path / "nowhere")


def test_publishing_to_a_folder_adds_files_then_the_index_and_again_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "enl"
    build_tree(root)
    drop = read_drop(drop_at(root))
    feed = tmp_path / "feed"
    done = publish_folder(drop, feed)
    assert len(done.added) == 7 and done.present == ()
    assert Index.parse((feed / "index.json").read_text()) == drop.index
    for rel in drop.files():
        assert (feed / rel).read_bytes() == (drop.directory / rel).read_bytes()
    assert not [p for p in feed.rglob("*.tmp")]
    again = publish_folder(drop, feed)
    assert again.added == () and len(again.present) == 7


def test_the_index_of_a_feed_gathers_every_published_build(tmp_path: Path) -> None:
    root = tmp_path / "enl"
    build_tree(root)
    feed = tmp_path / "feed"
    publish_folder(read_drop(drop_at(root, "3.1.7")), feed)
    publish_folder(read_drop(drop_at(root, "3.1.10")), feed)
    index = Index.parse((feed / "index.json").read_text())
    assert [(p.name, p.version) for p in Index.parse(index.to_json()).packages] == [
        ("lib", "3.1.7"),
        ("lib", "3.1.10"),
        ("tool", "3.1.7"),
        ("tool", "3.1.10"),
    ]
    assert [m.version for m in index.manifests] == ["3.1.7", "3.1.10"]


def test_a_version_once_published_never_changes(tmp_path: Path) -> None:
    root = tmp_path / "enl"
    build_tree(root)
    feed = tmp_path / "feed"
    publish_folder(read_drop(drop_at(root)), feed)
    index_before = (feed / "index.json").read_bytes()
    (root / f"public/{CONFIG}/bin/tool").write_bytes(b"#!/bin/sh\necho other\n")
    other = manifest()
    other["published"][f"public/{CONFIG}/bin/tool"] = sha(b"#!/bin/sh\necho other\n")
    directory = tmp_path / "other-drop"
    drop = make_drop(
        directory,
        root=root,
        enlistment="sample",
        manifest=other,
        published=PROJECTS,
        names={"projects/lib": "lib", "projects/tool": "tool"},
        mtime=1_700_000_000,
    )
    with pytest.raises(InputError) as caught:
        publish_folder(drop, feed)
    assert caught.value.code == ExitCode.USAGE
    text = caught.value.render()
    assert "already holds other bytes for 4 of these files; nothing was published" in text
    assert "\n  tool/3.1.7/tool-3.1.7-chk-amd64.tar.gz\n" in text and "\n  lib/" not in text
    assert "hint: a published version never changes: build again with a new --build-number" in text
    assert (feed / "index.json").read_bytes() == index_before


def test_a_damaged_feed_index_is_never_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "enl"
    build_tree(root)
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "index.json").write_text("{not json")
    with pytest.raises(EnvironmentFault, match="is not a package index"):
        publish_folder(read_drop(drop_at(root)), feed)
    assert (feed / "index.json").read_text() == "{not json"


@pytest.mark.parametrize("file", ["../outside.tar.gz", "/abs.tar.gz", "a//b.tar.gz", "a\\\\b.tar.gz"])
def test_an_index_naming_a_file_outside_the_feed_is_not_an_index(file: str) -> None:
    entry = {"name": "x", "version": "1", "config": CONFIG, "commit": "", "file": file, "sha256": "", "metadata": "m"}
    with pytest.raises(ValueError, match="is not a relative path in the feed"):
        Index.parse(json.dumps({"format": 1, "packages": [entry]}))


def test_a_newer_entry_of_the_same_package_replaces_the_older_in_an_index() -> None:
    def entry(sha: str) -> dict[str, str]:
        return {"name": "x", "version": "1", "config": CONFIG, "commit": "", "file": "x.tgz", "sha256": sha,
                "metadata": "x.json"}

    old = Index.parse(json.dumps({"format": 1, "packages": [entry("a")]}))
    new = Index.parse(json.dumps({"format": 1, "packages": [entry("b")]}))
    assert [p.sha256 for p in old.merged(new).packages] == ["b"]
