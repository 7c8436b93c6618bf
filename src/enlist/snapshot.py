"""A copy of an enlistment's sources somewhere else (L2): the second tree of `enlist build --check`.

In a git checkout the copy is a private checkout of HEAD (`enlist.vcs.checkout`: a clone sharing the object
store, so nothing is written into the repository) with the working tree's changes laid over it: tracked files
that differ from HEAD (copied, or deleted where they are gone) and untracked files that git does not ignore.
The copy therefore has the same commit, commit time and dirty state, hence the same version stamp and
SOURCE_DATE_EPOCH, and none of the outputs (they are ignored). Outside git, every file is copied except the
outputs enlist writes (`out/`, `public/`, every `obj/` directory, `compile_commands.json`), `.git/` and
`.venv/`.

Files are copied, never linked: a build in the copy must not be able to write into the original.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from enlist import vcs

SKIPPED_AT_ROOT = frozenset({"out", "public", ".git", ".venv", "compile_commands.json"})
SKIPPED_ANYWHERE = frozenset({"obj", "__pycache__"})


def snapshot(root: Path, dest: Path) -> Path:
    """Copy the enlistment at `root` into `dest` (which must not exist); returns the enlistment root of the
    copy (below `dest` when `root` is a subdirectory of its git checkout)."""
    root = root.resolve()
    top = vcs.toplevel(root)
    commit = vcs.revision(root).commit
    if top is None or not commit:
        _copy_tree(root, dest)
        return dest
    vcs.checkout(str(top), commit, dest)
    copy_root = dest / root.relative_to(top.resolve())
    changed, untracked = vcs.changes(root)
    for rel in [*changed, *untracked]:
        source, target = root / rel, copy_root / rel
        if source.is_symlink() or source.exists():
            _copy_file(source, target)
        elif target.is_symlink() or target.exists():
            target.unlink()
    return copy_root


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
    else:
        shutil.copyfile(source, target)
        shutil.copymode(source, target)


def _copy_tree(root: Path, dest: Path) -> None:
    def ignored(directory: str, names: list[str]) -> set[str]:
        at_root = Path(directory) == root
        return {n for n in names if n in SKIPPED_ANYWHERE or (at_root and n in SKIPPED_AT_ROOT)}

    shutil.copytree(root, dest, symlinks=True, ignore=ignored)
