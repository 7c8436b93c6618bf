"""The restored packages of an enlistment, for commands (L3): restore with progress, zig's warm-up, the
environment of the prompt, and the checks `enlist doctor` runs on them."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from enlist import workspace
from enlist.app import Session
from enlist.model.packages import PackageEnvironment

if TYPE_CHECKING:
    from enlist.commands.doctor import Finding
    from enlist.toolcache.events import RestoreEvents, Transfer
    from enlist.toolcache.plan import Step
    from enlist.toolcache.restore import RestoreResult


def prompt_environment(session: Session) -> dict[str, str]:
    """The variables the enlistment prompt exports (`enlist env`), sorted by name.

    PATH starts with the directory of the running enlist (the enlistment's virtual environment), then the tool
    directories of restored packages, then the inherited PATH.
    """
    flavor, arch = workspace.check_config(session.config)
    env = {
        "ENLIST_ROOT": str(session.root),
        "ENLIST_NAME": session.settings.name,
        "ENLIST_CONFIG": session.config,
        "ENLIST_FLAVOR": flavor,
        "ENLIST_ARCH": arch,
    }
    packages = ensure_tools(session)
    env.update(packages.env)
    path = [str(Path(sys.executable).parent), *packages.path]
    path += [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in path]
    env["PATH"] = os.pathsep.join(path)
    return dict(sorted(env.items()))


def ensure_tools(session: Session) -> PackageEnvironment:
    """Every package the lock pins, restored: offline and quick when it already is; otherwise a restore runs
    (with its progress on stderr) and the toolchain is warmed."""
    from enlist.toolcache import check

    packages = check.environment(session.root)
    if packages.complete:
        return packages
    return restore_tools(session).environment


def restore_tools(
    session: Session, *, jobs: int = 4, platform: str | None = None, dry_run: bool = False
) -> RestoreResult:
    """`enlist restore`: install exactly what the lock pins, then prepare the toolchain (zig's libc)."""
    from enlist.toolcache.restore import restore

    events = LazyRestoreEvents(sys.stderr)
    try:
        result = restore(session.root, platform=platform, events=events, jobs=max(1, jobs), dry_run=dry_run)
    finally:
        events.close()
    if platform is None and not dry_run:
        warm_toolchain(session, result.environment)
    return result


class LazyRestoreEvents:
    """Builds the console reporter only when there is work to show (the no-op path stays light)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._inner: RestoreEvents | None = None

    @property
    def inner(self) -> RestoreEvents:
        if self._inner is None:
            from enlist.console.progress import restore_events

            self._inner = restore_events(self._stream)
        return self._inner

    def planned(self, steps: Sequence[Step]) -> None:
        self.inner.planned(steps)

    def fetching(self, step: Step) -> Transfer:
        return self.inner.fetching(step)

    def unpacking(self, step: Step) -> Transfer:
        return self.inner.unpacking(step)

    def done(self, step: Step) -> None:
        self.inner.done(step)

    def close(self) -> None:
        if self._inner is not None:
            self._inner.close()




def warm_toolchain(session: Session, packages: PackageEnvironment) -> None:
    """Build zig's libc for this enlistment's target once per machine, so the first link is not a surprise."""
    from enlist import toolchain
    from enlist.rules.spec import ToolTree

    rules = toolchain.load_rules(session.settings)
    if rules.toolchain.kind != "zig":
        return
    zig = next((p for p in packages.packages if p.name == rules.toolchain.package), None)
    if zig is None:
        return
    _, arch = workspace.check_config(session.config)
    tree = ToolTree(name=zig.name, sha256=zig.sha256, path=zig.tree)
    if toolchain.needs_warm_up(rules, tree, archs=[arch]):
        print(f"restore: preparing zig's libc for {arch} (once per machine; about a minute)", file=sys.stderr)
        toolchain.warm_up(rules, tree, archs=[arch])



def doctor_checks(session: Session) -> list[tuple[str, Callable[[], Finding]]]:
    """Checks of the lock, the toolcache and the feeds for `enlist doctor`, each a (name, check) pair."""
    from enlist.commands.doctor import Finding, Status
    from enlist.toolcache import check

    def lock() -> Finding:
        return Finding("lock", Status.OK, check.lock_is_fresh(session.root))

    def restored() -> Finding:
        packages = check.environment(session.root)
        if packages.missing:
            names = ", ".join(f"{p.package} {p.version}" for p in packages.missing)
            return Finding("packages", Status.FAIL, f"not restored: {names}", "run `enlist restore`")
        return Finding("packages", Status.OK, f"{len(packages.packages)} restored and unpacked in the cache")

    def feeds() -> Finding:
        names = check.feeds_reachable(session.root)
        return Finding("feeds", Status.OK, f"reachable: {', '.join(names) or 'none used'}")

    return [("lock", lock), ("packages", restored), ("feeds", feeds)]
