"""The dirs walk: order, OPTIONAL_DIRS, every way a dirs file can be wrong (fake tree, then real links)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from enlist.descriptors.dirs import walk
from enlist.errors import DescriptorError
from enlist.loader.disk import DiskTree
from fake_tree import CONTEXT, FakeTree

LIB = "TARGETNAME = {0}\nTARGETTYPE = LIBRARY\nSOURCES = {0}.c\n"


def tree() -> FakeTree:
    return FakeTree(
        {
            "dirs": "DIRS = projects\n",
            "projects/dirs": "DIRS = \\\n    zeta \\\n    alpha \\\n\nOPTIONAL_DIRS = tools\n",
            "projects/zeta/sources": LIB.format("zeta"),
            "projects/alpha/dirs": "DIRS = lib test\n",
            "projects/alpha/sources": LIB.format("alpha"),
            "projects/alpha/lib/sources": LIB.format("alphalib"),
            "projects/alpha/test/sources": LIB.format("alphatest"),
            "projects/tools/sources": LIB.format("tools"),
            "projects/tools/extra/sources": LIB.format("extra"),
        }
    )


def test_projects_come_in_dirs_file_order_depth_first() -> None:
    walked = walk(tree(), CONTEXT)
    assert walked.projects == ["projects/zeta", "projects/alpha", "projects/alpha/lib", "projects/alpha/test"]
    assert walked.files == ["dirs", "projects/dirs", "projects/alpha/dirs"]
    assert walked.optional_seen == ["projects/tools"]
    assert walked.optional_enabled == []


@pytest.mark.parametrize("named", ["projects/tools", "projects/tools/extra"])
def test_optional_dirs_are_walked_when_named_or_something_below_them_is(named: str) -> None:
    walked = walk(tree(), CONTEXT, (named,))
    assert walked.projects[-1] == "projects/tools"
    assert walked.optional_enabled == ["projects/tools"]


def test_naming_a_parent_does_not_enable_optional_dirs() -> None:
    assert "projects/tools" not in walk(tree(), CONTEXT, ("projects",)).projects


def test_dirs_files_may_use_conditions() -> None:
    fake = tree()
    fake.files["projects/dirs"] = b'DIRS = zeta\n!IF "$(ARCH)" == "amd64"\nDIRS = $(DIRS) alpha\n!ENDIF\n'
    assert walk(fake, CONTEXT).projects[:2] == ["projects/zeta", "projects/alpha"]


BAD = [
    ("no root dirs", {"projects/x/sources": LIB.format("x")}, "dirs: the enlistment root has no dirs file"),
    (
        "missing",
        {"dirs": "DIRS = \\\n  a \\\n  nothere\n", "a/sources": LIB.format("a")},
        "dirs:3: DIRS names 'nothere', but 'nothere' does not exist",
    ),
    (
        "a file",
        {"dirs": "DIRS = a notes.txt\n", "a/sources": LIB.format("a"), "notes.txt": "hi"},
        "dirs:1: DIRS names 'notes.txt', but 'notes.txt' is not a directory",
    ),
    (
        "empty dir",
        {"dirs": "DIRS = a empty\n", "a/sources": LIB.format("a"), "empty/readme.txt": "x"},
        "dirs:1: 'empty' has neither a dirs nor a sources file",
    ),
    (
        "twice",
        {
            "dirs": "DIRS = a b\nOPTIONAL_DIRS = a\n",
            "a/sources": LIB.format("a"),
            "b/sources": LIB.format("b"),
        },
        "dirs:2: 'a' is listed twice",
    ),
    (
        "twice nested",
        {"dirs": "DIRS = a a\\b\n", "a/dirs": "DIRS = b\n", "a/b/sources": LIB.format("b")},
        "a/dirs:1: 'b' is listed twice",
    ),
    ("dotdot", {"dirs": "DIRS = ..\\other\n"}, "dirs:1: DIRS entry '..\\other' is not a subdirectory"),
    (
        "absolute",
        {"dirs": "OPTIONAL_DIRS = /etc\n"},
        "dirs:1: OPTIONAL_DIRS entry '/etc' is not a subdirectory",
    ),
    (
        "bad syntax",
        {"dirs": "DIRS = a\nDIRS += b\n", "a/sources": LIB.format("a")},
        "dirs:2: expected NAME = value or a !directive, found 'DIRS += b'",
    ),
]


@pytest.mark.parametrize(("files", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_dirs_files(files: dict[str, str], expected: str) -> None:
    with pytest.raises(DescriptorError) as info:
        walk(FakeTree(files), CONTEXT)
    assert info.value.render().splitlines()[0] == expected


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def test_a_symbolic_link_loop_is_reported_not_followed(tmp_path: Path) -> None:
    _write(tmp_path, {"dirs": "DIRS = a\n", "a/dirs": "DIRS = b\n", "a/b/dirs": "DIRS = up\n"})
    os.symlink("..", tmp_path / "a" / "b" / "up")
    with pytest.raises(DescriptorError) as info:
        walk(DiskTree(tmp_path, 0), CONTEXT)
    assert info.value.render().splitlines()[0] == (
        "a/b/dirs:1: 'a/b/up' is a symbolic link loop: it leads back to a directory already being walked"
    )


def test_a_directory_listed_twice_through_a_link_is_reported(tmp_path: Path) -> None:
    _write(tmp_path, {"dirs": "DIRS = a alias\n", "a/sources": LIB.format("a")})
    os.symlink("a", tmp_path / "alias")
    with pytest.raises(DescriptorError) as info:
        walk(DiskTree(tmp_path, 0), CONTEXT)
    assert (
        info.value.render().splitlines()[0]
        == "dirs:1: 'alias' is the same directory as 'a': it is listed twice"
    )


def test_a_link_that_cannot_be_followed_is_not_a_directory(tmp_path: Path) -> None:
    _write(tmp_path, {"dirs": "DIRS = self\n"})
    os.symlink("self", tmp_path / "self")
    with pytest.raises(DescriptorError) as info:
        walk(DiskTree(tmp_path, 0), CONTEXT)
    assert info.value.render().splitlines()[0] == "dirs:1: DIRS names 'self', but 'self' is not a directory"
