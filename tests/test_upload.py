"""Publishing to an HTTP feed without a compiler: a drop made of generated files, uploaded by `enlist publish URL`
to a real pypiserver on 127.0.0.1 (tests/test_official_build.py publishes a real build the same way)."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import requests

import sample_enlistment as sample
from enlist.release.package import make_drop
from indexserver import SECRET, USER, IndexServer

CONFIG = "chk-amd64"
MiB = 1 << 20
PAYLOAD = f"public/{CONFIG}/data/blob.bin"


class Publish(NamedTuple):
    returncode: int
    output: str
    peak_rss: int  # bytes: the publishing process's largest resident set


def enlistment_with_drop(root: Path, *, version: str, size: int) -> Path:
    """An enlistment whose last official build published one file of `size` pseudo-random bytes (written a MiB at
    a time, so the test itself never holds it), packaged as `data`; the package archive's path."""
    sample.write(root)
    path = root / PAYLOAD
    path.parent.mkdir(parents=True)
    rng = random.Random(size)
    h = hashlib.sha256()
    with path.open("wb") as f:
        for start in range(0, size, MiB):
            chunk = rng.randbytes(min(MiB, size - start))
            h.update(chunk)
            f.write(chunk)
    manifest = {
        "build": {"build_number": 7, "official": True, "version": version},
        "config": CONFIG,
        "format": 1,
        "lock": None,
        "published": {PAYLOAD: h.hexdigest()},
        "revision": {"commit": "c" * 40, "dirty": False},
        "toolchain": {"kind": "zig", "target": "x86_64-linux-musl"},
        "tools": {},
    }
    drop = make_drop(
        root / "out" / CONFIG / "packages",
        root=root,
        enlistment="sample",
        manifest=manifest,
        published={"projects/data": [PAYLOAD]},
        names={"projects/data": "data"},
        mtime=1_700_000_000,
    )
    (package,) = drop.index.packages
    return drop.directory / package.file


def publish(root: Path, url: str) -> Publish:
    """`enlist publish URL` in a child process, with the peak memory the kernel measured for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENLIST_")}
    env |= {"ENLIST_FEED_PUBLISH_USERNAME": USER, "ENLIST_FEED_PUBLISH_PASSWORD": SECRET}
    log = root.parent / f"{root.name}.log"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "enlist", "publish", url], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(child.pid, 0)  # unlike Popen.wait, also gives the child's resource usage
        child.returncode = os.waitstatus_to_exitcode(status)
    return Publish(child.returncode, log.read_text(), usage.ru_maxrss * 1024)  # Linux counts ru_maxrss in KiB


def served_digest(url: str) -> str:
    h = hashlib.sha256()
    with requests.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        for chunk in response.iter_content(MiB):
            h.update(chunk)
    return h.hexdigest()


def file_digest(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def test_a_large_package_is_streamed_to_the_feed_and_served_back_byte_identical(tmp_path: Path) -> None:
    size = 64 * MiB
    small = enlistment_with_drop(tmp_path / "small", version="1.0.1", size=4096)
    large = enlistment_with_drop(tmp_path / "large", version="1.0.2", size=size)
    assert large.stat().st_size > size  # random bytes do not compress
    with IndexServer(tmp_path / "index", authenticate="update") as index:
        baseline = publish(tmp_path / "small", index.root)
        assert baseline.returncode == 0, baseline.output
        done = publish(tmp_path / "large", index.root)
        assert done.returncode == 0, done.output
        assert f"to {index.root}: 2 files added, 0 already there" in done.output
        assert served_digest(index.files + large.name) == file_digest(large)
        assert served_digest(index.files + small.name) == file_digest(small)
    # Holding the body in memory would cost the file's size at least (twice, as requests builds it); streaming
    # costs a few buffers. The baseline is the same command publishing a 4 KiB file.
    grown = done.peak_rss - baseline.peak_rss
    assert grown < size // 2, f"publishing {size // MiB} MiB grew the peak memory by {grown // MiB} MiB"
