"""Restores as separate processes: killed mid-download, two at once into one cache, a cache that cannot be
written, and feed credentials that must never show."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from enlist.toolcache.store import make_writable
from feedserver import FeedServer
from toolcache_support import (
    PLATFORM,
    TOOL,
    Enlistment,
    locked,
    new_enlistment,
    packages_toml,
    publish_tool,
    tool_tar,
)


def wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def test_kill_9_mid_download_then_restore_resumes(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    digests = locked(enlistment, server, feed)
    tool_tar(feed / TOOL, payload=os.urandom(400_000))  # bigger, so half of it is a real partial download
    enlistment.write(packages_toml(server.url))
    assert enlistment.run("lock", "--refresh").code == 0
    shutil.rmtree(enlistment.cache)
    digest = enlistment.lock_path.read_text().split(f'url = "{TOOL}"\nsha256 = "')[1][:64]
    assert digest != digests[PLATFORM]
    server.fail(TOOL, "stall:20")
    part = enlistment.cache / "toolcache" / "tmp" / f"{digest}.part"
    victim = enlistment.spawn("restore")
    wait_for(lambda: part.is_file() and part.stat().st_size > 0)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert enlistment.trees() == [] and enlistment.blobs() == []  # nothing a restore would trust
    half = part.stat().st_size

    result = enlistment.call("restore")
    assert result.code == 0, result.text
    assert server.gets(TOOL)[-1].range == f"bytes={half}-"  # it resumed where the killed one stopped
    assert enlistment.call("cache", "verify").out.endswith(
        "1 archives, 1 trees, 0 action-cache entries and 0 CAS blobs checked, all good\n"
    )


def test_two_restores_at_once_share_one_download(
    tmp_path: Path, server: FeedServer, feed: Path, isolated: None
) -> None:
    publish_tool(feed)
    cache = tmp_path / "shared-cache"
    first = new_enlistment(tmp_path / "one", cache)
    second = new_enlistment(tmp_path / "two", cache)
    for e in (first, second):
        e.write(packages_toml(server.url))
    assert first.call("lock").code == 0
    shutil.copy(first.lock_path, second.lock_path)
    shutil.rmtree(cache)
    server.seen.clear()
    server.fail(TOOL, "stall:1")  # the first download is slow, so the two restores overlap
    procs = [first.spawn("restore"), second.spawn("restore")]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert len(server.gets(TOOL)) == 1  # one process fetched; the other waited and found it done
    assert len(first.trees()) == 1 and len(first.blobs()) == 1
    assert first.call("cache", "stats").out.splitlines()[3] == "enlistments  2 registered"


@pytest.fixture
def world_readable(tmp_path: Path) -> Iterator[Path]:
    """A directory another user can read (pytest's own tmp dirs are private)."""
    path = Path(tempfile.mkdtemp(prefix="enlist-test-"))
    path.chmod(0o755)
    yield path
    make_writable(path)
    shutil.rmtree(path)


def as_other_user() -> dict[str, object]:
    """Run a child without write access to root-owned directories (tests also run as root in containers)."""
    if os.geteuid() != 0:
        return {}

    def drop() -> None:
        os.setgid(65534)
        os.setuid(65534)

    return {"preexec_fn": drop}


def test_a_read_only_cache_is_an_environment_error(world_readable: Path, feed: Path, isolated: None) -> None:
    publish_tool(feed)
    e = new_enlistment(world_readable / "enlistment", world_readable / "cache")
    e.write(packages_toml(feed.as_uri()))
    assert e.call("lock").code == 0
    shutil.rmtree(e.cache, ignore_errors=True)
    e.cache.mkdir(mode=0o555)
    e.cache.chmod(0o555)
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "enlist", "restore"],
        cwd=e.root,
        env=e.process_env(HOME=str(world_readable)),
        capture_output=True,
        text=True,
        **as_other_user(),
    )  # type: ignore[call-overload]
    assert done.returncode == 3, done.stderr
    assert f"error: the toolcache {e.cache}/toolcache is not writable" in done.stderr
    assert "hint: fix its permissions, or point ENLIST_CACHE at a writable directory" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_read_only_cache_that_holds_every_pin_still_restores(
    world_readable: Path, feed: Path, isolated: None
) -> None:
    import subprocess
    import sys

    publish_tool(feed)
    e = new_enlistment(world_readable / "enlistment", world_readable / "cache")
    e.write(packages_toml(feed.as_uri()))
    assert e.call("lock").code == 0 and e.call("restore").code == 0
    for path in [e.cache, *e.cache.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o555)
    done = subprocess.run(
        [sys.executable, "-m", "enlist", "restore"],
        cwd=e.root,
        env=e.process_env(HOME=str(world_readable)),
        capture_output=True,
        text=True,
        **as_other_user(),
    )  # type: ignore[call-overload]
    assert done.returncode == 0, done.stderr
    assert done.stdout == "restore: 1 package up to date\n"
    assert "the cache is read-only: this enlistment is not registered for `enlist cache gc`" in done.stderr


def test_a_full_disk_is_an_environment_error(enlistment: Enlistment, feed: Path) -> None:
    feed_file = feed / TOOL
    feed_file.parent.mkdir(parents=True)
    feed_file.write_bytes(os.urandom(300_000))  # not even an archive: the disk fills before that matters
    enlistment.write(packages_toml("../feed").replace('"linux-x86_64", "macos-arm64"', '"linux-x86_64"'))
    assert enlistment.run("lock").code == 0
    import subprocess
    import sys

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))  # writes past 100 kB fail like ENOSPC

    done = subprocess.run(
        [sys.executable, "-m", "enlist", "restore"],
        cwd=enlistment.root,
        env=enlistment.process_env(),
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
    )
    assert done.returncode == 3, done.stderr
    assert f"error: no space left for the toolcache in {enlistment.cache}/toolcache" in done.stderr
    assert "Traceback" not in done.stderr
    assert enlistment.blobs() == [] and enlistment.trees() == []


SECRET = "s3cr3t-t0ken-do-not-print"


def test_credentials_are_sent_but_never_shown(
    tmp_path: Path, feed: Path, isolated: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_tool(feed)
    with FeedServer(feed, token=SECRET) as server:
        e = new_enlistment(tmp_path / "enlistment", tmp_path / "cache")
        e.write(packages_toml(server.url))
        denied = e.call("lock")
        assert denied.code == 3 and "access denied (HTTP 401)" in denied.err
        assert "ENLIST_FEED_WEB_TOKEN" in denied.err

        e.env["ENLIST_FEED_WEB_TOKEN"] = SECRET
        assert e.call("lock").code == 0
        server.seen.clear()
        shutil.rmtree(e.cache)
        server.fail(TOOL, "500", "500", "500", "500", "500")
        failed = e.call("restore")
        assert failed.code == 3
        ok = e.call("restore")
        assert ok.code == 0
        assert all(s.authorized for s in server.gets(TOOL))
        leaks = [
            p
            for p in [
                *tmp_path.rglob("*"),
            ]
            if p.is_file() and SECRET.encode() in p.read_bytes()
        ]
        assert leaks == []
        for result in (denied, failed, ok):
            assert SECRET not in result.text


def test_credentials_from_netrc_and_from_the_url_are_not_shown(
    tmp_path: Path, feed: Path, isolated: None
) -> None:
    publish_tool(feed)
    with FeedServer(feed, basic=("builder", SECRET)) as server:
        e = new_enlistment(tmp_path / "enlistment", tmp_path / "cache")
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login builder password {SECRET}\n")
        netrc.chmod(stat.S_IRUSR | stat.S_IWUSR)
        e.env["NETRC"] = str(netrc)
        e.write(packages_toml(server.url))
        assert e.call("lock").code == 0
        (feed / TOOL).unlink()
        shutil.rmtree(e.cache)
        missing = e.call("restore")
        assert missing.code == 3 and "not found (HTTP 404)" in missing.err and SECRET not in missing.text

        e.env.pop("NETRC")
        url = server.url.replace("http://", f"http://builder:{SECRET}@")
        e.write(packages_toml(url))
        gone = e.call("restore")
        assert gone.code == 3
        assert f"GET {server.url}{TOOL}: not found" in gone.err and SECRET not in gone.text


def test_at_a_terminal_restore_draws_progress_bars(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    import pty
    import subprocess
    import sys

    locked(enlistment, server, feed)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "enlist", "restore"],
        cwd=enlistment.root,
        env=enlistment.process_env(TERM="xterm-256color", COLUMNS="100"),
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    output = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: the child is done
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    text = output.decode("utf-8", "replace")
    assert "tool 1.0" in text and "ready" in text and "\x1b[" in text  # drawn by rich, with colours
    assert "restore: 1 package ready (1 fetched, 0 unpacked from the cache)" in text
    assert "Traceback" not in text
