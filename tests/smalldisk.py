"""A small disk for tests: a tmpfs of a given size mounted for the test and unmounted after it, or, where this
machine does not let the tests mount one (not root, no CAP_SYS_ADMIN), the file-size limit RLIMIT_FSIZE on the
processes the test starts: a write past it fails with EFBIG (and SIGXFSZ for programs that do not ignore it),
as a full disk fails with ENOSPC.

    with small_disk(tmp_path / "disk", 300_000) as disk:
        disk.run([...], cwd=disk.path / "enlistment")   # its writes hit the limit
        disk.resize(4_000_000)                          # room again (the mount grows, or the limit goes)
"""

from __future__ import annotations

import contextlib
import resource
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class SmallDisk:
    path: Path
    size: int
    mounted: bool  # a real tmpfs; else the processes get RLIMIT_FSIZE = size

    @property
    def kind(self) -> str:
        return "tmpfs" if self.mounted else "RLIMIT_FSIZE"

    def resize(self, size: int) -> None:
        self.size = size
        if self.mounted:
            subprocess.run(
                ["mount", "-o", f"remount,size={size}", str(self.path)], check=True, capture_output=True
            )

    def run(
        self, argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        limit = None if self.mounted else self.size

        def limited() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        return subprocess.run(
            list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, preexec_fn=limited
        )


def _mount(path: Path, size: int) -> bool:
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
            capture_output=True,
            timeout=30,
        )
    except OSError:
        return False
    return done.returncode == 0


@contextlib.contextmanager
def small_disk(path: Path, size: int) -> Iterator[SmallDisk]:
    path.mkdir(parents=True)
    mounted = _mount(path, size)
    try:
        yield SmallDisk(path, size, mounted)
    finally:
        if mounted:
            done = subprocess.run(["umount", str(path)], capture_output=True)
            if done.returncode != 0:  # still busy (a process the test started is exiting): detach it
                subprocess.run(["umount", "-l", str(path)], capture_output=True)
