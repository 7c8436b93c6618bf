"""`enlist lock` and `enlist restore` against real feeds (a folder, an HTTP server on 127.0.0.1), real
archives and real faults: what the user sees, and what is (not) left in the cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from enlist.toolcache import check
from feedserver import FeedServer
from toolcache_support import (
    PLATFORM,
    TOOL,
    Enlistment,
    TarMember,
    locked,
    make_tar,
    packages_toml,
    publish_tool,
    sha256_of,
    tool_tar,
    wipe,
)


def test_lock_pins_relative_paths_and_restore_installs_exactly_them(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    digests = locked(enlistment, server, feed)
    lock = enlistment.lock_path.read_text()
    assert f'url = "{TOOL}"' in lock and f'sha256 = "{digests[PLATFORM]}"' in lock
    assert "127.0.0.1" not in lock and "http" not in lock

    result = enlistment.run("restore")
    assert result.code == 0, result.text
    assert result.out == "restore: 1 package ready (1 fetched, 0 unpacked from the cache)\n"
    assert "restore: fetch tool 1.0 (linux-x86_64)" in result.err  # plain progress lines: not a terminal
    env = check.require_restored(enlistment.root)
    tree = Path(dict(env.macros)["PkgTool_1_0"])
    assert tree.name == digests[PLATFORM]
    assert dict(env.env)["TOOL"] == f"{tree}/bin/tool"
    assert (
        subprocess.run([dict(env.env)["TOOL"]], capture_output=True, text=True).stdout
        == f"hello {PLATFORM}\n"
    )

    server.stop()  # offline from now on: everything is in the cache
    again = enlistment.run("restore")
    assert (again.code, again.out, again.err) == (0, "restore: 1 package up to date\n", "")


def test_restore_from_a_folder_feed(enlistment: Enlistment, feed: Path) -> None:
    publish_tool(feed, text="from the share")
    enlistment.write(packages_toml(feed.as_uri()).replace("[[package]]", "[[package]]", 1))
    assert enlistment.run("lock").code == 0
    assert enlistment.run("restore").code == 0
    tool = dict(check.require_restored(enlistment.root).env)["TOOL"]
    assert subprocess.run([tool], capture_output=True, text=True).stdout == f"from the share {PLATFORM}\n"


def test_several_versions_restore_side_by_side(enlistment: Enlistment, feed: Path) -> None:
    publish_tool(feed, "1.0", "one")
    publish_tool(feed, "2.0", "two")
    second = '\n[[package]]\nname = "tool"\nversion = "2.0"\nfeed = "web"\npath = ["bin"]\n'
    enlistment.write(packages_toml("../feed", extra=second))
    assert enlistment.run("lock").code == 0
    assert enlistment.run("restore", "-j", "2").out.startswith("restore: 2 packages ready (2 fetched")
    env = check.require_restored(enlistment.root)
    macros = dict(env.macros)
    assert macros["PkgTool"] == macros["PkgTool_2"] == macros["PkgTool_2_0"] != macros["PkgTool_1"]
    assert env.path[0].startswith(macros["PkgTool_2"])


def test_transient_http_faults_are_retried_and_the_download_resumes(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    locked(enlistment, server, feed)
    server.fail(TOOL, "500", "reset", "truncate")
    result = enlistment.run("restore")
    assert result.code == 0, result.text
    gets = server.gets(TOOL)
    assert len(gets) == 4
    assert gets[3].range is not None and gets[3].range.startswith("bytes=")  # resumed after the truncation
    assert "HTTP 500; retrying" in result.err


def test_a_timeout_is_retried(
    enlistment: Enlistment, server: FeedServer, feed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked(enlistment, server, feed)
    monkeypatch.setenv("ENLIST_HTTP_TIMEOUT", "0.3")
    server.fail(TOOL, "delay:1.5")
    result = enlistment.run("restore")
    assert result.code == 0, result.text
    assert "timed out; retrying" in result.err


def test_a_feed_that_keeps_failing_is_an_environment_error(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    locked(enlistment, server, feed)
    server.fail(TOOL, *["503"] * 10)
    result = enlistment.run("restore")
    assert result.code == 3
    assert f"error: GET {server.url}{TOOL} failed: HTTP 503 (after 4 attempts)" in result.err
    assert "hint: check the network and the feed" in result.err
    assert enlistment.trees() == [] and enlistment.blobs() == []


def test_a_missing_file_fails_at_once(enlistment: Enlistment, server: FeedServer, feed: Path) -> None:
    locked(enlistment, server, feed)
    (feed / TOOL).unlink()
    result = enlistment.run("restore")
    assert result.code == 3
    assert f"error: GET {server.url}{TOOL}: not found (HTTP 404)" in result.err
    assert len(server.gets(TOOL)) == 1


def test_bytes_that_do_not_match_the_pin_are_discarded(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    digests = locked(enlistment, server, feed)
    actual = tool_tar(feed / TOOL, text="tampered")
    result = enlistment.run("restore")
    assert result.code == 3
    assert (
        f"error: hash mismatch for tool 1.0 (linux-x86_64): expected sha256 {digests[PLATFORM]}, got {actual}"
    ) in result.err
    assert enlistment.trees() == [] and enlistment.blobs() == []
    assert list((enlistment.cache / "toolcache" / "tmp").iterdir()) == []


def test_a_wrong_content_length_is_caught_by_the_hash(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    locked(enlistment, server, feed)
    server.fail(TOOL, "shortlen")
    result = enlistment.run("restore")
    assert result.code == 3 and "hash mismatch for tool 1.0" in result.err
    assert enlistment.trees() == []
    assert enlistment.run("restore").code == 0  # the feed behaves again: nothing stale was kept


def test_a_hostile_archive_is_refused_and_nothing_is_installed(
    enlistment: Enlistment, feed: Path, tmp_path: Path
) -> None:
    make_tar(feed / TOOL, [TarMember("bin/tool", b"ok"), TarMember("../../escaped", b"gotcha")])
    enlistment.write(
        packages_toml("../feed").replace(
            'platforms = ["linux-x86_64", "macos-arm64"]', 'platforms = ["linux-x86_64"]'
        )
    )
    assert enlistment.run("lock").code == 0
    for _ in range(2):  # and a second restore does not trust anything the first one left
        result = enlistment.run("restore")
        assert result.code == 2
        assert (
            "error: tool-1.0-linux-x86_64.tar.gz: refusing to unpack: member '../../escaped' has a '..' "
            "component that escapes the tree"
        ) in result.err
        assert enlistment.trees() == []
    assert not list(tmp_path.rglob("escaped"))


BAD_INPUT = [
    (
        "unknown feed",
        lambda t: t.replace('feed = "web"', 'feed = "wbe"'),
        "buildconf/packages.toml:9: package 'tool': unknown feed 'wbe'\n"
        "  hint: feeds: web; define it as [feeds.wbe]",
    ),
    (
        "malformed toml",
        lambda t: t.replace('version = "1.0"', 'version = 1.0"'),
        "buildconf/packages.toml:8: Expected newline or end of document after a statement\n"
        "  hint: fix the TOML syntax",
    ),
    (
        "package missing from the lock",
        lambda t: t + '\n[[package]]\nname = "other"\nversion = "3"\nfeed = "web"\n',
        "buildconf/packages.lock: the lock does not match buildconf/packages.toml: other 3 (linux-x86_64): "
        "not in the lock (and 1 more)\n  hint: run `enlist lock` and commit buildconf/packages.lock",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), [b[1:] for b in BAD_INPUT], ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_a_clear_usage_error(
    enlistment: Enlistment, feed: Path, edit: object, expected: str
) -> None:
    publish_tool(feed)
    enlistment.write(packages_toml("../feed"))
    assert enlistment.run("lock").code == 0
    enlistment.write(edit(packages_toml("../feed")))  # type: ignore[operator]
    result = enlistment.run("restore")
    assert (result.code, result.out, result.err) == (2, "", expected + "\n")


def test_restore_without_a_lock_says_to_lock(enlistment: Enlistment) -> None:
    enlistment.write(packages_toml("../feed"))
    result = enlistment.run("restore")
    assert result.code == 2
    assert result.err == (
        "error: buildconf/packages.lock not found\n  hint: run `enlist lock` to pin "
        "buildconf/packages.toml, then commit it\n"
    )


def test_lock_check_reports_a_stale_lock(enlistment: Enlistment, feed: Path) -> None:
    publish_tool(feed)
    enlistment.write(packages_toml("../feed"))
    assert enlistment.run("lock").code == 0
    assert enlistment.run("lock", "--check").out == "lock: buildconf/packages.lock is up to date\n"
    publish_tool(feed, "1.1")
    enlistment.write(packages_toml("../feed").replace('"1.0"', '"1.1"'))
    stale = enlistment.run("lock", "--check")
    assert stale.code == 2
    assert "tool 1.1 (linux-x86_64): not in the lock" in stale.err
    assert "tool 1.0 (macos-arm64): no longer in packages.toml" in stale.err
    relock = enlistment.run("lock")
    assert relock.out == "lock: resolved tool 1.1\nlock: wrote buildconf/packages.lock (2 pins)\n"
    assert enlistment.run("lock").out == "lock: buildconf/packages.lock is up to date\n"


def test_dry_run_prints_the_plan_and_changes_nothing(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    locked(enlistment, server, feed)
    result = enlistment.run("restore", "--dry-run")
    assert result.out == f"fetch  tool 1.0 (linux-x86_64) tool-1.0-{PLATFORM}.tar.gz from feed 'web'\n"
    assert not enlistment.cache.exists() and server.seen == []


def test_an_unsupported_platform_is_an_environment_error(
    enlistment: Enlistment, feed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_tool(feed)
    enlistment.write(packages_toml("../feed"))
    assert enlistment.run("lock").code == 0
    monkeypatch.setenv("ENLIST_PLATFORM", "windows-x86_64")
    result = enlistment.run("restore")
    assert result.code == 3
    assert "error: buildconf/packages.toml does not support this platform (windows-x86_64)" in result.err


def test_leftovers_of_a_killed_unpack_are_not_trusted(enlistment: Enlistment, feed: Path) -> None:
    digests = publish_tool(feed)
    enlistment.write(packages_toml("../feed"))
    assert enlistment.run("lock").code == 0
    digest = digests[PLATFORM]
    tmp = enlistment.cache / "toolcache" / "tmp"
    (tmp / f"{digest}.tree-4242-dead/bin").mkdir(parents=True)  # as left by kill -9 during an unpack
    manifest = enlistment.cache / "toolcache" / "trees" / digest[:2] / f"{digest}.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("{}")
    assert enlistment.run("restore").code == 0
    assert list(tmp.iterdir()) == []
    assert enlistment.run("cache", "verify").code == 0


def test_the_no_op_check_imports_neither_requests_nor_rich(enlistment: Enlistment, feed: Path) -> None:
    publish_tool(feed)
    enlistment.write(packages_toml("../feed"))
    assert enlistment.run("lock").code == 0 and enlistment.run("restore").code == 0
    probe = (
        "import sys\nfrom enlist import cli\ncode = cli.run(['restore'])\n"
        "from enlist.toolcache import check\ncheck.require_restored(__import__('pathlib').Path('.'))\n"
        "print(code, sorted(m for m in ('requests', 'rich', 'urllib3') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=enlistment.root,
        env=enlistment.process_env(),
        capture_output=True,
        text=True,
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr


def test_an_archive_that_rotted_in_the_cache_is_fetched_again_before_unpacking(
    enlistment: Enlistment, server: FeedServer, feed: Path
) -> None:
    locked(enlistment, server, feed)
    assert enlistment.run("restore").code == 0
    blob, tree = enlistment.blobs()[0], enlistment.trees()[0]
    wipe(tree)
    blob.chmod(0o644)
    blob.write_bytes(b"rotten")
    result = enlistment.run("restore")
    assert result.out == "restore: 1 package ready (0 fetched, 1 unpacked from the cache)\n", result.err
    assert len(server.gets(TOOL)) == 2 and sha256_of(blob) == blob.name
    assert enlistment.run("cache", "verify").code == 0
