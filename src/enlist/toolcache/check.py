"""Is everything restored? The fast question `enlist build` asks on every run (L2).

It reads packages.toml and packages.lock, checks they agree, and stats one directory per package in the cache:
no network, no writes, no requests or rich imported. `environment()` gives the restored packages with their
macros, variables and PATH entries; `require_restored()` also refuses if anything is missing.

    from enlist.toolcache import check
    env = check.require_restored(root)          # EnvironmentFault: "2 packages are not restored ..."
    env.macros  # (("PkgRe2c", "/home/me/.cache/enlist/toolcache/trees/2d/2d6e..."), ...)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from enlist import packagesfile
from enlist.errors import EnvironmentFault
from enlist.model.packages import PackageEnvironment, PackageSpec, Pin, RestoredPackage
from enlist.toolcache import enlistment
from enlist.toolcache.layout import Layout
from enlist.toolcache.platforms import host_platform


def environment(root: Path, *, cache: Path | None = None, platform: str | None = None) -> PackageEnvironment:
    """The packages the lock of the enlistment at `root` pins for this platform, as found in the cache."""
    pairs = enlistment.host_pins(enlistment.load(root), platform or host_platform())
    return environment_of(pairs, Layout.at(cache))


def environment_of(pairs: Sequence[tuple[PackageSpec, Pin]], layout: Layout) -> PackageEnvironment:
    restored: list[tuple[PackageSpec, RestoredPackage]] = []
    missing: list[Pin] = []
    for spec, pin in pairs:
        if layout.has_tree(pin.sha256):
            tree = layout.tree(pin.sha256).as_posix()
            package = RestoredPackage(spec.name, spec.version, pin.sha256, tree, spec.provides)
            restored.append((spec, package))
        else:
            missing.append(pin)
    return packagesfile.environment(restored, missing)


def require_restored(
    root: Path, *, cache: Path | None = None, platform: str | None = None
) -> PackageEnvironment:
    env = environment(root, cache=cache, platform=platform)
    if not env.complete:
        names = ", ".join(f"{p.package} {p.version}" for p in env.missing)
        count = len(env.missing)
        raise EnvironmentFault(
            f"{count} package{'s' if count > 1 else ''} not restored: {names}", hint="run `enlist restore`"
        )
    return env


def lock_is_fresh(root: Path) -> str:
    """'<lock> matches <packages.toml>', or InputError naming why the lock is stale (offline)."""
    from enlist.toolcache.resolve import stale_reasons

    reasons = stale_reasons(root)
    if reasons:
        raise enlistment.stale_error(reasons)
    return f"{enlistment.LOCK_SHOWN} matches {enlistment.TOML_SHOWN}"


def feeds_reachable(root: Path, platform: str | None = None) -> list[str]:
    """Ask each feed the lock uses for one of its pinned files (no download); FeedError on the first that fails."""
    from enlist.toolcache.feeds import Feeds

    packages = enlistment.load(root)
    feeds = Feeds(packages.config, root)
    first: dict[str, Pin] = {}
    for _, pin in enlistment.host_pins(packages, platform or host_platform()):
        first.setdefault(pin.feed, pin)
    for name, pin in sorted(first.items()):
        feeds.get(name).reach(pin)
    return sorted(first)
