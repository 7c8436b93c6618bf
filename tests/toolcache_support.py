"""Helpers for the toolcache tests: real archives, throwaway enlistments, enlist run in-process or as a
process.

Fixtures defined here are imported by the test modules that use them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from enlist import cli
from enlist.toolcache.store import make_writable
from feedserver import FeedServer

PLATFORM = "linux-x86_64"
ISOLATION = {
    "PIP_CONFIG_FILE": os.devnull,  # this machine's pip configuration must not leak into tests
    "ENLIST_PLATFORM": PLATFORM,
    "ENLIST_HTTP_BACKOFF": "0.01",
    "ENLIST_HTTP_RETRIES": "3",
    "ENLIST_HTTP_TIMEOUT": "5",
}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_zip(
    path: Path,
    files: dict[str, bytes],
    *,
    modes: dict[str, int] | None = None,
    links: dict[str, str] | None = None,
) -> str:
    """A zip archive (a wheel when named *.whl) with unix modes; returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFREG | (modes or {}).get(name, 0o644)) << 16
            zf.writestr(info, data, zipfile.ZIP_DEFLATED)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return sha256_of(path)


@dataclass
class TarMember:
    name: str
    data: bytes = b""
    mode: int = 0o644
    type: bytes = tarfile.REGTYPE
    link: str = ""


def make_tar(path: Path, members: list[TarMember], compression: str = "gz") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, f"w:{compression}") as tf:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.type
            info.mode = m.mode
            info.linkname = m.link
            info.size = len(m.data) if m.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
            tf.addfile(info, io.BytesIO(m.data) if info.size else None)
    return sha256_of(path)


def tool_tar(path: Path, name: str = "tool", text: str = "hello", payload: bytes = b"a tool\n") -> str:
    """A small tool package: an executable script, a data file and a directory."""
    return make_tar(
        path,
        [
            TarMember("bin", type=tarfile.DIRTYPE, mode=0o755),
            TarMember(f"bin/{name}", f"#!/bin/sh\necho {text}\n".encode(), mode=0o755),
            TarMember("share/README", payload),
        ],
    )


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Enlistment:
    root: Path
    cache: Path
    env: dict[str, str] = field(default_factory=dict)

    def write(self, packages_toml: str) -> None:
        (self.root / "buildconf" / "packages.toml").write_text(packages_toml)

    @property
    def lock_path(self) -> Path:
        return self.root / "buildconf" / "packages.lock"

    def run(self, *args: str) -> Result:
        """enlist in this process (the environment is already set by the fixture)."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.run(list(args))
        return Result(code, out.getvalue(), err.getvalue())

    def process_env(self, **extra: str) -> dict[str, str]:
        return {**os.environ, **self.env, **extra}

    def spawn(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "enlist", *args],
            cwd=self.root,
            env=self.process_env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def call(self, *args: str, **extra: str) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "enlist", *args],
            cwd=self.root,
            env=self.process_env(**extra),
            capture_output=True,
            text=True,
            timeout=300,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def trees(self) -> list[Path]:
        return sorted(p for p in (self.cache / "toolcache" / "trees").glob("??/*") if p.is_dir())

    def blobs(self) -> list[Path]:
        return sorted((self.cache / "toolcache" / "sha256").glob("??/*"))


def new_enlistment(root: Path, cache: Path) -> Enlistment:
    (root / "buildconf").mkdir(parents=True)
    (root / "buildconf" / "enlist.toml").write_text('[enlistment]\nname = "sample"\n')
    return Enlistment(root=root, cache=cache, env={"ENLIST_ROOT": str(root), "ENLIST_CACHE": str(cache)})


TOOL = f"tool/1.0/tool-1.0-{PLATFORM}.tar.gz"


def packages_toml(url: str, *, extra: str = "") -> str:
    return (
        textwrap.dedent(f"""\
        platforms = ["linux-x86_64", "macos-arm64"]

        [feeds.web]
        url = "{url}"

        [[package]]
        name = "tool"
        version = "1.0"
        feed = "web"
        env = {{ TOOL = "{{root}}/bin/tool" }}
        path = ["bin"]
        """)
        + extra
    )


def publish_tool(feed: Path, version: str = "1.0", text: str = "hello") -> dict[str, str]:
    return {
        p: tool_tar(feed / f"tool/{version}/tool-{version}-{p}.tar.gz", text=f"{text} {p}")
        for p in ("linux-x86_64", "macos-arm64")
    }


def wipe(cache: Path) -> None:
    if cache.exists():
        make_writable(cache)
        shutil.rmtree(cache)


def locked(e: Enlistment, server: FeedServer, feed: Path) -> dict[str, str]:
    """An enlistment pinned to the tool on the HTTP feed, with an empty cache (as on another machine)."""
    digests = publish_tool(feed)
    e.write(packages_toml(server.url))
    result = e.run("lock")
    assert result.code == 0, result.text
    wipe(e.cache)
    server.seen.clear()
    return digests


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("ENLIST_", "PIP_INDEX", "PIP_EXTRA")):
            monkeypatch.delenv(name)
    for name, value in ISOLATION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


@pytest.fixture
def enlistment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: None) -> Enlistment:
    e = new_enlistment(tmp_path / "enlistment", tmp_path / "cache")
    for name, value in e.env.items():
        monkeypatch.setenv(name, value)
    return e


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    folder = tmp_path / "feed"
    folder.mkdir()
    return folder


@pytest.fixture
def server(feed: Path) -> Iterator[FeedServer]:
    with FeedServer(feed) as s:
        yield s
