"""Feeds that misbehave, beyond test_restore.py: redirects to another host (two real servers), bodies that stall
past the timeout, a Content-Length longer than the body, redirect loops. Retried where it makes sense, refused
where it must, credentials never forwarded, bytes never trusted before their sha256 matched the pin."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedserver import FeedServer
from toolcache_support import (
    PLATFORM,
    TOOL,
    Enlistment,
    new_enlistment,
    packages_toml,
    publish_tool,
    tool_tar,
    wipe,
)

SECRET = "s3cr3t-t0ken-for-the-feed-only"


@pytest.fixture
def file_host(tmp_path: Path) -> Iterator[FeedServer]:
    """A second server, where the feed sends its downloads (no credentials needed there)."""
    folder = tmp_path / "file-host"
    folder.mkdir()
    with FeedServer(folder) as host:
        yield host


def other_host(url: str) -> str:
    """The same server under another host name: credentials for 127.0.0.1 are not for it."""
    return url.replace("127.0.0.1", "localhost")


@pytest.mark.parametrize(
    "credentials", ["token", "netrc", "url"], ids=["token from the environment", "netrc", "user in the url"]
)
def test_a_redirect_to_another_host_gets_no_credentials(
    tmp_path: Path, feed: Path, file_host: FeedServer, isolated: None, credentials: str
) -> None:
    publish_tool(feed)
    shutil.copytree(feed, file_host.root, dirs_exist_ok=True)
    basic = None if credentials == "token" else ("builder", SECRET)
    with FeedServer(feed, token=SECRET if credentials == "token" else None, basic=basic) as server:
        e = new_enlistment(tmp_path / "enlistment", tmp_path / "cache")
        url = server.url
        if credentials == "token":
            e.env["ENLIST_FEED_WEB_TOKEN"] = SECRET
        elif credentials == "netrc":
            netrc = tmp_path / "netrc"
            netrc.write_text(f"machine 127.0.0.1 login builder password {SECRET}\n")
            netrc.chmod(stat.S_IRUSR | stat.S_IWUSR)
            e.env["NETRC"] = str(netrc)
        else:
            url = url.replace("http://", f"http://builder:{SECRET}@")
        e.write(packages_toml(url))
        assert e.call("lock").code == 0
        wipe(e.cache)  # locking fetched the file: restore as on another machine
        server.seen.clear()
        server.fail(TOOL, f"redirect:{other_host(file_host.url)}{TOOL}")
        result = e.call("restore")
        assert result.code == 0, result.text
        assert [s.authorized for s in server.gets(TOOL)] == [True]  # the feed itself got them
        assert [s.sent_credentials for s in file_host.gets(TOOL)] == [False]  # the file host did not
        assert SECRET not in result.text


def test_a_redirect_to_another_port_of_the_same_host_gets_no_credentials(
    tmp_path: Path, feed: Path, file_host: FeedServer, isolated: None
) -> None:
    publish_tool(feed)
    shutil.copytree(feed, file_host.root, dirs_exist_ok=True)
    with FeedServer(feed, token=SECRET) as server:
        e = new_enlistment(tmp_path / "enlistment", tmp_path / "cache")
        e.env["ENLIST_FEED_WEB_TOKEN"] = SECRET
        e.write(packages_toml(server.url))
        assert e.call("lock").code == 0
        wipe(e.cache)  # locking fetched the file: restore as on another machine
        server.seen.clear()
        server.fail(TOOL, f"redirect:{file_host.url}{TOOL}")
        assert e.call("restore").code == 0
        assert [s.sent_credentials for s in file_host.gets(TOOL)] == [False]


def test_a_redirect_to_a_host_serving_other_bytes_is_refused(
    enlistment: Enlistment, server: FeedServer, feed: Path, file_host: FeedServer
) -> None:
    digests = publish_tool(feed)
    enlistment.write(packages_toml(server.url))
    assert enlistment.run("lock").code == 0
    wipe(enlistment.cache)  # locking fetched the file: restore as on another machine
    server.seen.clear()
    actual = tool_tar(file_host.root / TOOL, text="served by someone else")
    server.fail(TOOL, f"redirect:{other_host(file_host.url)}{TOOL}")
    result = enlistment.run("restore")
    assert result.code == 3
    assert (
        f"error: hash mismatch for tool 1.0 ({PLATFORM}): expected sha256 {digests[PLATFORM]}, got {actual}"
    ) in result.err
    assert enlistment.trees() == [] and enlistment.blobs() == []


def test_a_redirect_loop_is_a_clear_error(enlistment: Enlistment, server: FeedServer, feed: Path) -> None:
    publish_tool(feed)
    enlistment.write(packages_toml(server.url))
    assert enlistment.run("lock").code == 0
    wipe(enlistment.cache)  # locking fetched the file: restore as on another machine
    server.seen.clear()
    server.fail(TOOL, *[f"redirect:{server.url}{TOOL}"] * 40)
    result = enlistment.run("restore")
    assert result.code == 3
    assert result.err.endswith(
        f"error: GET {server.url}{TOOL}: too many redirects\n  hint: the feed redirects in a loop; check the feed\n"
    )
    assert enlistment.trees() == [] and enlistment.blobs() == []


def test_a_body_that_stalls_past_the_timeout_is_resumed(
    enlistment: Enlistment, server: FeedServer, feed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_tool(feed)
    tool_tar(feed / TOOL, payload=os.urandom(400_000))  # big enough that half of it is a real part
    enlistment.write(packages_toml(server.url))
    assert enlistment.run("lock").code == 0
    wipe(enlistment.cache)  # locking fetched the file: restore as on another machine
    server.seen.clear()
    monkeypatch.setenv("ENLIST_HTTP_TIMEOUT", "0.5")
    server.fail(TOOL, "stall:3")
    result = enlistment.run("restore")
    assert result.code == 0, result.text
    gets = server.gets(TOOL)
    assert len(gets) == 2 and gets[1].range is not None and gets[1].range != "bytes=0-"
    assert "the connection broke during the download; retrying" in result.err
    assert enlistment.run("cache", "verify").code == 0


def test_a_slow_body_within_the_timeout_is_simply_waited_for(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    publish_tool(feed)
    enlistment.write(packages_toml(server.url))
    assert enlistment.run("lock").code == 0
    wipe(enlistment.cache)  # locking fetched the file: restore as on another machine
    server.seen.clear()
    server.fail(TOOL, "delay:0.5", "stall:0.5")
    assert enlistment.run("restore").code == 0
    assert len(server.gets(TOOL)) == 1


def test_a_content_length_longer_than_the_body_is_retried(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    publish_tool(feed)
    enlistment.write(packages_toml(server.url))
    assert enlistment.run("lock").code == 0
    wipe(enlistment.cache)  # locking fetched the file: restore as on another machine
    server.seen.clear()
    server.fail(TOOL, "longlen", "longlen")
    result = enlistment.run("restore")
    assert result.code == 0, result.text
    assert "retrying" in result.err
    assert enlistment.run("cache", "verify").code == 0


def test_a_content_length_that_always_lies_is_refused(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    publish_tool(feed)
    enlistment.write(packages_toml(server.url))
    assert enlistment.run("lock").code == 0
    wipe(enlistment.cache)  # locking fetched the file: restore as on another machine
    server.seen.clear()
    server.fail(TOOL, *["longlen"] * 10)
    result = enlistment.run("restore")
    assert result.code == 3
    assert f"error: GET {server.url}{TOOL} failed: " in result.err and "(after 4 attempts)" in result.err
    assert enlistment.trees() == [] and enlistment.blobs() == []
