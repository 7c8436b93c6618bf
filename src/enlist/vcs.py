"""The revision of the enlistment (L2): commit, dirty state and commit time, read from git.

Dirty means that tracked files differ from the commit (staged or not); untracked and ignored files do not
count, so build outputs never make a tree dirty. Outside a git checkout, or without git, the revision is
unknown: commit "", dirty, time 0; builds still work and their stamp says "unknown".
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from enlist.model.revision import Revision

UNKNOWN = Revision(commit="", dirty=True, time=0)


def revision(root: Path) -> Revision:
    head = _git(root, "log", "-1", "--format=%H %ct", "HEAD")
    if head is None or len(head.split()) != 2:
        return UNKNOWN
    commit, time = head.split()
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return Revision(commit=commit, dirty=status is None or bool(status.strip()), time=int(time))


def differences(root: Path) -> list[str] | None:
    """Every way the tree differs from its commit, as `git status --porcelain` lines, sorted: tracked files
    changed, staged or deleted (" M a.c", "D  b.c") and untracked files that are not ignored ("?? new.c"), any
    of which a build could read. None outside a git checkout."""
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--ignore-submodules=none")
    if status is None:
        return None
    return sorted(line for line in status.splitlines() if line.strip())


def _git(root: Path, *args: str) -> str | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["LC_ALL"] = "C"
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=False
        )
    except OSError:  # no git on this machine
        return None
    return done.stdout if done.returncode == 0 else None


def revision_files(root: Path) -> list[str]:
    """The files whose change means a new commit is checked out: HEAD, the branch it names, packed refs
    (absolute paths of those that exist; none outside git)."""
    head = _git(root, "rev-parse", "--absolute-git-dir", "--symbolic-full-name", "HEAD")
    if head is None:
        return []
    lines = head.split()
    git_dir = Path(lines[0])
    files = [git_dir / "HEAD", git_dir / "packed-refs"]
    if len(lines) > 1 and lines[1].startswith("refs/"):
        common = _git(root, "rev-parse", "--git-common-dir")
        base = (root / common.strip()).resolve() if common else git_dir
        files.append(base / lines[1])
    return sorted(p.as_posix() for p in files if p.is_file())
