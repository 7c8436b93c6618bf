"""Choosing each platform's wheel, and reading a PEP 503 project page: pure logic, real file names."""

from __future__ import annotations

import pytest

from enlist.toolcache.platforms import best_wheel, host_platform, parse_wheel_name
from enlist.toolcache.simpleindex import parse_project_page, project_url

ZIG = [
    "ziglang-0.17.0-py3-none-macosx_13_0_arm64.whl",
    "ziglang-0.17.0-py3-none-macosx_13_0_x86_64.whl",
    "ziglang-0.17.0-py3-none-manylinux_2_12_i686.manylinux2010_i686.musllinux_1_1_i686.whl",
    "ziglang-0.17.0-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
    "ziglang-0.17.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
]
RE2C = [
    "re2c-4.0-py2.py3-none-macosx_10_9_universal2.whl",
    "re2c-4.0-py2.py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.whl",
    "re2c-4.0-py2.py3-none-musllinux_1_2_x86_64.whl",
    "re2c-4.0-py2.py3-none-win_amd64.whl",
    "re2c-4.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    "re2c-4.0.tar.gz",
]


def choose(names: list[str], platform: str) -> str | None:
    wheels = [w for n in names if (w := parse_wheel_name(n))]
    best = best_wheel(wheels, platform)
    return best.file_name if best else None


@pytest.mark.parametrize(
    ("names", "platform", "expected"),
    [
        (ZIG, "linux-x86_64", ZIG[3]),
        (ZIG, "linux-aarch64", ZIG[4]),
        (ZIG, "macos-arm64", ZIG[0]),
        (ZIG, "macos-x86_64", ZIG[1]),
        (ZIG, "windows-x86_64", None),
        (RE2C, "linux-x86_64", RE2C[1]),  # manylinux before musllinux; never an ABI-tied or source package
        (RE2C, "macos-arm64", RE2C[0]),  # universal2 serves both Mac CPUs
        (RE2C, "windows-x86_64", RE2C[3]),
        (RE2C, "linux-aarch64", None),
        (
            ["t-1-py3-none-any.whl", "t-1-py3-none-manylinux1_x86_64.whl"],
            "linux-x86_64",
            "t-1-py3-none-manylinux1_x86_64.whl",
        ),
        (["t-1-py3-none-any.whl"], "windows-arm64", "t-1-py3-none-any.whl"),
    ],
)
def test_the_best_wheel_for_each_platform(names: list[str], platform: str, expected: str | None) -> None:
    assert choose(names, platform) == expected


def test_wheel_names_parse_into_their_tags() -> None:
    wheel = parse_wheel_name("Grpcio_Tools-1.2.3-1-py3-none-any.whl")
    assert wheel is not None and (wheel.project, wheel.version, wheel.platforms) == (
        "grpcio-tools",
        "1.2.3",
        ("any",),
    )
    assert parse_wheel_name("tool-1.0.tar.gz") is None and parse_wheel_name("bad.whl") is None


def test_the_platform_can_be_overridden() -> None:
    assert host_platform({"ENLIST_PLATFORM": "macos-arm64"}) == "macos-arm64"


def test_a_project_page_gives_absolute_urls_digests_and_yanked_files() -> None:
    upper, other = "AB" + "ab" * 31, "cd" * 32
    html = f"""<html><body>
      <a href="../../packages/re2c-4.0.tar.gz#sha256={upper}">re2c-4.0.tar.gz</a>
      <a href="https://files.example/p/re2c-4.0-py3-none-any.whl#md5=0&amp;sha256={other}" data-yanked>x</a>
      <a href="re2c%2B-1.whl">no digest</a>
    </body></html>"""
    page = "http://127.0.0.1:9/simple/re2c/"
    files = parse_project_page(html, page)
    assert [(f.file_name, f.url, f.sha256, f.yanked) for f in files] == [
        ("re2c-4.0.tar.gz", "http://127.0.0.1:9/packages/re2c-4.0.tar.gz", "ab" * 32, False),
        ("re2c-4.0-py3-none-any.whl", "https://files.example/p/re2c-4.0-py3-none-any.whl", "cd" * 32, True),
        ("re2c+-1.whl", "http://127.0.0.1:9/simple/re2c/re2c%2B-1.whl", None, False),
    ]
    assert project_url("http://127.0.0.1:9/simple", "Zig_Lang") == "http://127.0.0.1:9/simple/zig-lang/"
