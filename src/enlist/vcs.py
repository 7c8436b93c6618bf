"""The revision of the enlistment (L2): commit, dirty state and commit time, read from git; and private
checkouts of a commit for `enlist reproduce` and `enlist build --check`.

Dirty means that tracked files differ from the commit (staged or not); untracked and ignored files do not
count, so build outputs never make a tree dirty. Outside a git checkout, or without git, the revision is
unknown: commit "", dirty, time 0; builds still work and their stamp says "unknown".

`checkout(source, commit, dest)` makes a checkout of one commit that belongs to nobody else: from a local
repository, a clone that borrows its object store (`--shared`: nothing is written into the source, any commit
it holds can be checked out, and deleting `dest` is the whole cleanup); from a URL, a full clone.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from enlist.errors import EnvironmentFault
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
    try:
        done = _run_git(root, *args)
    except OSError:  # no git on this machine
        return None
    return done.stdout if done.returncode == 0 else None


def _run_git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["LC_ALL"] = "C"
    env["GIT_TERMINAL_PROMPT"] = "0"  # a clone that needs credentials fails instead of waiting for a prompt
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=False)


def _must(root: Path, *args: str) -> str:
    """git's output, or an EnvironmentFault that quotes what git said."""
    try:
        done = _run_git(root, *args)
    except OSError as e:
        raise EnvironmentFault("git is not installed", hint="install git; reproducing a commit needs it") from e
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise EnvironmentFault(f"git {args[0]} failed: {said[-1] if said else f'exit {done.returncode}'}")
    return done.stdout


def toplevel(path: Path) -> Path | None:
    """The top of the git checkout that contains `path`; None outside git."""
    found = _git(path, "rev-parse", "--show-toplevel")
    return Path(found.strip()) if found and found.strip() else None


def has_commit(repo: Path, commit: str) -> bool:
    return _git(repo, "cat-file", "-e", f"{commit}^{{commit}}") is not None


def is_url(source: str) -> bool:
    return "://" in source or (":" in source and not Path(source).exists() and "@" in source.split(":")[0])


def checkout(source: str, commit: str, dest: Path) -> None:
    """Check out `commit` of the repository `source` (a local path or a URL) at `dest` (which must not
    exist), detached; EnvironmentFault when git cannot."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if is_url(source):
        _must(dest.parent, "clone", "--quiet", "--no-checkout", source, str(dest))
    else:
        _must(dest.parent, "clone", "--quiet", "--no-checkout", "--shared", str(Path(source).resolve()), str(dest))
    if not has_commit(dest, commit):
        raise EnvironmentFault(
            f"commit {commit} is not in the repository {source}",
            hint="fetch it (`git fetch`), or name a repository that has it with --repo",
        )
    _must(dest, "checkout", "--quiet", "--detach", commit)


def changes(root: Path) -> tuple[list[str], list[str]]:
    """What a checkout of HEAD lacks to equal the working tree at `root` (a git checkout): the tracked files
    that differ from HEAD (staged or not; deleted ones included) and the untracked files that are not
    ignored, as sorted POSIX paths relative to `root`."""
    changed = _must(root, "diff", "--name-only", "--no-renames", "--relative", "-z", "HEAD", "--", ".")
    untracked = _must(root, "ls-files", "-z", "--others", "--exclude-standard", "--", ".")
    return sorted(p for p in changed.split("\0") if p), sorted(p for p in untracked.split("\0") if p)


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
