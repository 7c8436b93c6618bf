"""A PyPI-style feed: a real pypiserver on 127.0.0.1 with a password, found through pip's configuration."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from enlist.toolcache import check
from indexserver import SECRET, USER, IndexServer
from toolcache_support import Enlistment, make_zip, sha256_of

PLATFORMS = 'platforms = ["linux-x86_64", "macos-arm64"]\n'
Index = IndexServer


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    with IndexServer(tmp_path_factory.mktemp("index")) as server:
        yield server


TOOL_SCRIPT = {"mytool/bin/mytool": b"#!/bin/sh\necho mytool works\n", "mytool-1.0.dist-info/WHEEL": b"x"}


def publish(index: Index, name: str, version: str, tags: list[str]) -> dict[str, str]:
    digests = {}
    for tag in tags:
        wheel = index.folder / f"{name}-{version}-{tag}.whl"
        files = {k.replace("mytool", name): v for k, v in TOOL_SCRIPT.items()}
        digests[tag] = make_zip(wheel, files, modes={f"{name}/bin/{name}": 0o755})
    return digests


def packages_toml(*names: tuple[str, str]) -> str:
    blocks = "".join(
        f'\n[[package]]\nname = "{n}"\nversion = "{v}"\nfeed = "pypi"\npath = ["{n}/bin"]\n' for n, v in names
    )
    return PLATFORMS + '\n[feeds.pypi]\nkind = "pypi"\n' + blocks


@pytest.fixture
def pip_index(index: Index, monkeypatch: pytest.MonkeyPatch, enlistment: Enlistment) -> Index:
    monkeypatch.setenv("PIP_INDEX_URL", index.url_with_credentials)
    return index


def test_lock_takes_each_platforms_wheel_and_hash_from_the_index(
    pip_index: Index, enlistment: Enlistment
) -> None:
    digests = publish(
        pip_index,
        "mytool",
        "1.0",
        [
            "py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64",
            "py3-none-musllinux_1_2_x86_64",
            "py3-none-macosx_11_0_arm64",
            "py3-none-macosx_10_9_universal2",
            "cp311-cp311-manylinux_2_17_x86_64",
        ],
    )
    publish(pip_index, "mytool", "0.9", ["py3-none-any"])
    (pip_index.folder / "mytool-1.0.tar.gz").write_bytes(b"an sdist is never a candidate")
    publish(pip_index, "puretool", "2.0", ["py3-none-any"])
    enlistment.write(packages_toml(("mytool", "1.0"), ("puretool", "2.0")))
    result = enlistment.run("lock")
    assert result.code == 0, result.text
    lock = enlistment.lock_path.read_text()
    linux = "mytool-1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    assert f'platform = "linux-x86_64"\nfeed = "pypi"\nurl = "mytool/{linux}"' in lock
    assert digests["py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64"] in lock
    assert 'url = "mytool/mytool-1.0-py3-none-macosx_11_0_arm64.whl"' in lock
    assert 'package = "puretool"\nversion = "2.0"\nplatform = "any"' in lock
    assert lock.count("[[pin]]") == 3
    assert "127.0.0.1" not in lock and SECRET not in lock and "http" not in lock


def test_restore_downloads_from_the_index_and_keeps_exec_bits(
    pip_index: Index, enlistment: Enlistment
) -> None:
    publish(pip_index, "runme", "3.1", ["py3-none-manylinux_2_17_x86_64", "py3-none-macosx_11_0_arm64"])
    enlistment.write(packages_toml(("runme", "3.1")))
    assert enlistment.run("lock").code == 0
    result = enlistment.run("restore")
    assert result.code == 0, result.text
    assert SECRET not in result.text
    env = check.require_restored(enlistment.root)
    tool = Path(env.path[0]) / "runme"
    assert subprocess.run([tool], capture_output=True, text=True).stdout == "mytool works\n"


def test_the_index_url_can_come_from_a_pip_config_file(
    index: Index, enlistment: Enlistment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(index, "fromconf", "1.0", ["py3-none-any"])
    config = tmp_path / "pip.conf"
    config.write_text(f"[global]\nindex-url = {index.url_with_credentials}\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    enlistment.write(packages_toml(("fromconf", "1.0")))
    result = enlistment.run("lock")
    assert result.code == 0, result.text


def test_a_version_the_index_lacks_is_a_usage_error(pip_index: Index, enlistment: Enlistment) -> None:
    publish(pip_index, "versioned", "1.0", ["py3-none-any"])
    publish(pip_index, "versioned", "1.2", ["py3-none-any"])
    enlistment.write(packages_toml(("versioned", "1.1")))
    result = enlistment.run("lock")
    assert (result.code, result.err) == (
        2,
        "buildconf/packages.toml:6: package 'versioned': no wheel of version "
        "1.1 on feed 'pypi'\n  hint: versions with wheels: 1.0, 1.2\n",
    )


def test_a_platform_without_a_wheel_is_a_usage_error(pip_index: Index, enlistment: Enlistment) -> None:
    publish(pip_index, "linuxonly", "1.0", ["py3-none-manylinux_2_17_x86_64"])
    enlistment.write(packages_toml(("linuxonly", "1.0")))
    result = enlistment.run("lock")
    assert result.code == 2
    assert result.err == (
        "buildconf/packages.toml:6: package 'linuxonly' 1.0: no wheel for macos-arm64 on feed "
        "'pypi'\n  hint: list the platforms it has: platforms = [...] in its [[package]]\n"
    )
    enlistment.write(packages_toml(("linuxonly", "1.0")) + 'platforms = ["linux-x86_64"]\n')
    assert enlistment.run("lock").code == 0


def test_a_file_replaced_on_the_index_is_refused(pip_index: Index, enlistment: Enlistment) -> None:
    digests = publish(pip_index, "swapped", "1.0", ["py3-none-any"])
    enlistment.write(packages_toml(("swapped", "1.0")))
    assert enlistment.run("lock").code == 0
    wheel = pip_index.folder / "swapped-1.0-py3-none-any.whl"
    make_zip(wheel, {"swapped/evil": b"other bytes"})
    result = enlistment.run("restore")
    assert result.code == 3
    assert (
        f"error: hash mismatch for swapped 1.0: the lock pins sha256 {digests['py3-none-any']}, "
        f"the index now gives {sha256_of(wheel)} for swapped-1.0-py3-none-any.whl"
    ) in result.err
    assert enlistment.trees() == [] and enlistment.blobs() == []


def test_wrong_credentials_are_refused_without_showing_them(
    index: Index, enlistment: Enlistment, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish(index, "private", "1.0", ["py3-none-any"])
    monkeypatch.setenv("PIP_INDEX_URL", index.url_with_credentials.replace(SECRET, "wrong-" + SECRET))
    enlistment.write(packages_toml(("private", "1.0")))
    result = enlistment.run("lock")
    assert result.code == 3
    assert result.err.startswith(f"error: GET {index.url}private/: access denied (HTTP 403)")
    assert (
        "hint: give the feed's credentials in ENLIST_FEED_PYPI_TOKEN, or ENLIST_FEED_PYPI_USERNAME"
        in result.err
    )
    assert SECRET not in result.text and USER not in result.text
