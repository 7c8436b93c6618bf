"""An enlistment's packages: packages.toml and packages.lock, loaded and checked against each other (L2).

Cheap by design: `enlist build` calls this on every run through `enlist.toolcache.check`, so it reads two
small files and imports nothing heavy (no requests, no rich).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from enlist import lockfile, packagesfile
from enlist.errors import EnvironmentFault, InputError, Location
from enlist.model.packages import PLATFORMS, Lock, PackagesConfig, PackageSpec, Pin
from enlist.workspace import PACKAGES_LOCK, PACKAGES_TOML, read_toml

TOML_SHOWN = PACKAGES_TOML.as_posix()
LOCK_SHOWN = PACKAGES_LOCK.as_posix()


@dataclass(frozen=True, slots=True)
class Packages:
    root: Path
    config: PackagesConfig
    lock: Lock | None  # None when there is no lock file yet


def load_config(root: Path) -> PackagesConfig:
    path = root / PACKAGES_TOML
    if not path.is_file():
        return PackagesConfig(feeds=(), packages=(), platforms=PLATFORMS)
    data = read_toml(path, TOML_SHOWN)
    return packagesfile.parse(data, path.read_text(encoding="utf-8"), TOML_SHOWN)


def load(root: Path) -> Packages:
    config = load_config(root)
    path = root / PACKAGES_LOCK
    lock = lockfile.parse(path.read_text(encoding="utf-8"), LOCK_SHOWN) if path.is_file() else None
    return Packages(root=root, config=config, lock=lock)


def stale_error(reasons: list[str]) -> InputError:
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return InputError(
        f"the lock does not match {TOML_SHOWN}: {reasons[0]}{more}",
        location=Location(LOCK_SHOWN),
        hint=f"run `enlist lock` and commit {LOCK_SHOWN}",
    )


def host_pins(packages: Packages, platform: str) -> list[tuple[PackageSpec, Pin]]:
    """The pins this platform needs, in package order; refuses a missing or stale lock (nothing resolves)."""
    config = packages.config
    if not config.packages:
        return []
    if platform not in config.platforms:
        raise EnvironmentFault(
            f"{TOML_SHOWN} does not support this platform ({platform})",
            hint=f"its platforms are {', '.join(config.platforms)}; add this one and run "
            "`enlist lock`, or set ENLIST_PLATFORM",
        )
    if packages.lock is None:
        raise InputError(
            f"{LOCK_SHOWN} not found", hint=f"run `enlist lock` to pin {TOML_SHOWN}, then commit it"
        )
    reasons = lockfile.stale_reasons(config, packages.lock)
    if reasons:
        raise stale_error(reasons)
    pairs = []
    for spec in config.packages:
        if platform in config.platforms_of(spec):
            pin = packages.lock.pin_for(spec.name, spec.version, platform)
            assert pin is not None  # a fresh lock pins every wanted platform
            pairs.append((spec, pin))
    return pairs
