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
