"""The lab build for real: `enlist build --official --build-number 7 --publish FEED` on a committed copy of this
repository's sample enlistment, with the real zig; its packages published to a folder feed and to a real
package index with a password; a second, partial enlistment (tests/data/consumer) that builds against the
replica package alone; and a second build number that changes only the stamp and the links."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

import sample_enlistment as sample
from conftest import REPO, run_enlist
from enlist import lockfile
from enlist.model.packages import Lock
from enlist.rules.spec import ToolTree
from enlist.store import state
from indexserver import SECRET, USER, IndexServer

pytestmark = pytest.mark.slow
CONFIG = "chk-amd64"
CONSUMER = Path(__file__).with_name("data") / "consumer"
PACKAGES = ["agent", "replica", "replicad", "tracker"]


@dataclass(frozen=True)
class Produced:
    root: Path  # the sample, committed, built officially as build 7
    feed: Path  # the folder feed it published to
    commit: str
    output: str

    def run(self, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return run_enlist(list(args), cwd=cwd or self.root, env=env)

    @property
    def drop(self) -> Path:
        return self.root / "out" / CONFIG / "packages"


def copy_sample(target: Path) -> None:
    """The sample enlistment of this repository (its descriptors, sources and buildconf), no outputs."""
    target.mkdir(parents=True)
    shutil.copytree(REPO / "projects", target / "projects", ignore=shutil.ignore_patterns("obj"))
    shutil.copytree(REPO / "buildconf", target / "buildconf", ignore=shutil.ignore_patterns("requirements*"))
    for name in ("dirs", ".gitignore"):
        shutil.copy(REPO / name, target / name)


@pytest.fixture(scope="module")
def produced(tool_trees: dict[str, ToolTree], tmp_path_factory: pytest.TempPathFactory) -> Produced:
    base = tmp_path_factory.mktemp("official")
    root = base / "sample"
    copy_sample(root)
    sample.commit(root)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()
    done = run_enlist(["build", "--official", "--build-number", "7", "--publish", "../feed"], cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return Produced(root, base / "feed", commit, done.stdout + done.stderr)


def test_the_lab_build_runs_everything_and_stamps_version_and_commit(produced: Produced) -> None:
    assert re.search(r"^total\s+(\d+)\s+0\s+0\s+0\s+0$", produced.output, re.M), produced.output  # all ran
    out = produced.root / "out" / CONFIG
    doc = json.loads((out / "manifest.json").read_text())
    assert doc["build"] == {"build_number": 7, "official": True, "version": "1.0.7"}
    assert doc["revision"] == {"commit": produced.commit, "dirty": False}
    agent = (produced.root / "public" / CONFIG / "bin" / "agent").read_bytes()
    assert b"1.0.7\0" in agent and produced.commit.encode() + b"\0" in agent
    assert f"enlist: packaged 1.0.7 ({CONFIG}): {', '.join(PACKAGES)} in out/{CONFIG}/packages/" in produced.output
    assert "published 4 packages and the manifest of enlist 1.0.7 (chk-amd64)" in produced.output
    assert not (out / ".enlist" / "noop").exists()  # the next developer build is not a no-op


def test_each_target_is_a_package_of_its_published_files_with_their_digests(produced: Produced) -> None:
    index = json.loads((produced.feed / "index.json").read_text())
    assert [(p["name"], p["version"], p["config"], p["commit"]) for p in index["packages"]] == [
        (name, "1.0.7", CONFIG, produced.commit) for name in PACKAGES
    ]
    published = json.loads((produced.root / "out" / CONFIG / "manifest.json").read_text())["published"]
    meta = json.loads((produced.feed / "tracker/1.0.7/tracker-1.0.7-chk-amd64.json").read_text())
    tracker = ["inc/tracker.h", "lib/libtracker.a", "lib/libtracker.so"]  # the static and the shared library
    assert meta["files"] == {f"public/{CONFIG}/{f}": published[f"public/{CONFIG}/{f}"] for f in tracker}
    assert meta["projects"] == ["projects/tracker/dll", "projects/tracker/lib"]
    with tarfile.open(produced.feed / "replica/1.0.7/replica-1.0.7-chk-amd64.tar.gz") as tar:
        files = {m.name: m for m in tar if m.isfile()}
        header_path, library_path = f"public/{CONFIG}/inc/replica.h", f"public/{CONFIG}/lib/libreplica.a"
        assert sorted(files) == ["enlist-package.json", header_path, library_path]
        header = tar.extractfile(files[header_path])
        source = produced.root / "projects/replica/inc/replica.h"
        assert header is not None and header.read() == source.read_bytes()
    for rel in (p.relative_to(produced.drop) for p in produced.drop.rglob("*") if p.is_file()):
        assert (produced.feed / rel).read_bytes() == (produced.drop / rel).read_bytes(), rel
    manifest = produced.feed / "enlist/1.0.7/enlist-1.0.7-chk-amd64.manifest.json"
    assert manifest.read_bytes() == (produced.root / "out" / CONFIG / "manifest.json").read_bytes()


def test_publishing_again_changes_nothing_and_a_feed_with_other_bytes_is_refused(produced: Produced) -> None:
    again = produced.run("publish", "../feed")
    assert again.returncode == 0, again.stderr
    assert "13 files added" not in again.stdout and "0 files added, 13 already there" in again.stdout
    other = produced.feed.with_name("other-feed")
    shutil.copytree(produced.feed, other)
    archive = other / "replica/1.0.7/replica-1.0.7-chk-amd64.tar.gz"
    archive.write_bytes(archive.read_bytes() + b"\0")
    index = (other / "index.json").read_bytes()
    refused = produced.run("publish", "../other-feed")
    assert refused.returncode == 2
    assert "already holds other bytes for 1 of these files; nothing was published:\n" in refused.stderr
    assert "  replica/1.0.7/replica-1.0.7-chk-amd64.tar.gz\n" in refused.stderr
    assert (other / "index.json").read_bytes() == index


def consumer(produced: Produced, name: str, packages_toml: str | None = None) -> Path:
    """A copy of the partial enlistment next to the feed, locked offline but for the replica package."""
    root = produced.feed.parent / name
    shutil.copytree(CONSUMER, root)
    if packages_toml is not None:
        (root / "buildconf/packages.toml").write_text(packages_toml)
    ours = lockfile.parse((REPO / "buildconf/packages.lock").read_text(), "packages.lock")
    zig = Lock(tuple(p for p in ours.pins if p.package == "ziglang"))
    (root / "buildconf/packages.lock").write_text(lockfile.serialize(zig))
    locked = produced.run("lock", cwd=root)
    assert locked.returncode == 0, locked.stderr
    assert locked.stdout.splitlines()[0] == "lock: resolved replica 1.0.7"
    return root


def test_the_consumer_uses_the_same_compiler_as_the_sample() -> None:
    ours = (REPO / "buildconf/packages.toml").read_text()
    theirs = (CONSUMER / "buildconf/packages.toml").read_text()
    block = re.compile(r'\[\[package\]\]\nname = "ziglang"\n(?:[^\[\n].*\n)+')
    assert block.search(ours) and block.search(ours).group(0) == block.search(theirs).group(0)  # type: ignore[union-attr]


def test_a_partial_enlistment_builds_against_the_published_replica_package(produced: Produced) -> None:
    root = consumer(produced, "consumer")
    assert not list(root.rglob("replica*"))  # no replica sources, headers or libraries of its own
    built = produced.run("build", cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "OVERLAY replica 1.0.7" in built.stdout and "slot 2: gamma" in built.stdout
    public = root / "public" / CONFIG
    for rel in ("inc/replica.h", "lib/libreplica.a"):
        assert (public / rel).read_bytes() == (produced.root / "public" / CONFIG / rel).read_bytes()
    shutil.rmtree(root / "public")  # the overlay is an action like any other: a deleted file comes back
    again = produced.run("build", cwd=root)
    assert again.returncode == 0 and (public / "inc/replica.h").is_file(), again.stdout + again.stderr
    other = produced.run("build", "--config", "fre-amd64", cwd=root)
    assert other.returncode == 2
    assert (
        "buildconf/packages.toml: package 'replica' 1.0.7 provides nothing for fre-amd64 (it has chk-amd64)"
        in other.stderr
    )


def test_publishing_to_an_index_server_with_a_password_and_consuming_from_it(
    produced: Produced, tmp_path: Path
) -> None:
    with IndexServer(tmp_path / "index", authenticate="update") as index:
        wrong = produced.run(
            "publish", index.root, ENLIST_FEED_PUBLISH_USERNAME=USER, ENLIST_FEED_PUBLISH_PASSWORD="wrong-" + SECRET
        )
        assert wrong.returncode == 3, wrong.stdout + wrong.stderr
        assert f"error: POST {index.root}: access denied (HTTP 40" in wrong.stderr
        assert "ENLIST_FEED_PUBLISH_USERNAME and ENLIST_FEED_PUBLISH_PASSWORD" in wrong.stderr
        assert SECRET not in wrong.stdout + wrong.stderr
        assert not list(index.folder.iterdir())
        env = {"ENLIST_FEED_PUBLISH_USERNAME": USER, "ENLIST_FEED_PUBLISH_PASSWORD": SECRET}
        done = produced.run("publish", index.root, **env)
        assert done.returncode == 0, done.stderr
        assert f"to {index.root}: 5 files added, 0 already there" in done.stdout
        assert sorted(p.name for p in index.folder.iterdir()) == [
            "agent-1.0.7-chk-amd64.tar.gz",
            "enlist-1.0.7-chk-amd64.manifest.tar.gz",
            "replica-1.0.7-chk-amd64.tar.gz",
            "replicad-1.0.7-chk-amd64.tar.gz",
            "tracker-1.0.7-chk-amd64.tar.gz",
        ]
        served = requests.get(f"{index.files}replica-1.0.7-chk-amd64.tar.gz", timeout=10).content
        assert served == (produced.drop / "replica/1.0.7/replica-1.0.7-chk-amd64.tar.gz").read_bytes()
        named = produced.root / "buildconf/packages.toml"
        original = named.read_text()
        named.write_text(original + f'\n[feeds.index]\nurl = "{index.files}"\nupload = "{index.root}"\n')
        env = {"ENLIST_FEED_INDEX_USERNAME": USER, "ENLIST_FEED_INDEX_PASSWORD": SECRET}
        try:
            again = produced.run("publish", "index", **env)
            assert again.returncode == 0, again.stderr
            assert "to feed 'index': 0 files added, 5 already there" in again.stdout
            (index.folder / "agent-1.0.7-chk-amd64.tar.gz").write_bytes(b"not what the lab built")
            (index.folder / "tracker-1.0.7-chk-amd64.tar.gz").unlink()
            conflict = produced.run("publish", "index", **env)
        finally:
            named.write_text(original)
        assert conflict.returncode == 2
        assert "feed 'index' already holds other bytes for 1 of these files; nothing was uploaded:\n" in conflict.stderr
        assert "  agent-1.0.7-chk-amd64.tar.gz\n" in conflict.stderr
        assert not (index.folder / "tracker-1.0.7-chk-amd64.tar.gz").exists()
        toml = (CONSUMER / "buildconf/packages.toml").read_text()
        toml = toml.replace('url = "../feed"', f'url = "{index.files}"').replace(
            'file = "{name}/{version}/{name}-{version}-chk-amd64.tar.gz"', 'file = "{name}-{version}-chk-amd64.tar.gz"'
        )
        root = consumer(produced, "http-consumer", toml)
        built = produced.run("build", cwd=root)
        assert built.returncode == 0, built.stdout + built.stderr
        assert "slot 0: alpha" in built.stdout


def test_the_same_build_elsewhere_ships_the_same_bytes_and_a_new_number_changes_only_stamp_and_links(
    produced: Produced,
) -> None:
    second = produced.root.parent / "elsewhere" / "a deeper" / "clone"
    subprocess.run(["git", "clone", "-q", str(produced.root), str(second)], check=True)
    same = produced.run("build", "--official", "--build-number", "7", "--publish", str(produced.feed), cwd=second)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "0 files added, 13 already there" in same.stdout  # byte-identical packages and manifest
    done = produced.run("build", "--official", "--build-number", "8", cwd=second)
    assert done.returncode == 0, done.stdout + done.stderr
    before = state.load(state.state_dir(produced.root, CONFIG))
    after = state.load(state.state_dir(second, CONFIG))
    assert before is not None and after is not None
    kinds = dict(zip(after.plan.actions.ids, after.plan.actions.kinds, strict=True))
    changed = {i for i in kinds if before.records[i].key != after.records[i].key}
    assert {kinds[i] for i in changed} == {"stamp", "link", "publish", "test"}  # and what reads a linked file
    assert not {i for i in changed if kinds[i] in ("compile", "generate", "archive")}
    assert all(i in changed for i in kinds if kinds[i] in ("stamp", "link"))
    assert b"1.0.8\0" in (second / "public" / CONFIG / "bin" / "agent").read_bytes()
    old = json.loads((produced.drop / "replica/1.0.7/replica-1.0.7-chk-amd64.json").read_text())
    new = json.loads((second / "out" / CONFIG / "packages/replica/1.0.8/replica-1.0.8-chk-amd64.json").read_text())
    assert new["files"] == old["files"]  # a library that links nothing is the same bytes in every build
    assert not (second / "out" / CONFIG / "packages/replica/1.0.7").exists()  # the drop is this build's only
    dev = produced.run("build", cwd=second)
    assert dev.returncode == 0 and "nothing to do" not in dev.stdout, dev.stdout
    assert b"1.0.0-dev\0" in (second / "public" / CONFIG / "bin" / "agent").read_bytes()
    assert os.path.exists(second / "out" / CONFIG / "packages/replica/1.0.8")  # a dev build keeps the packages
