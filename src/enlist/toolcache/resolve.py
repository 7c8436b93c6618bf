"""`enlist lock`: resolve packages.toml to exact files and write packages.lock (L2).

Pins that still match what packages.toml asks for are kept as they are (so a lock only changes where
packages.toml changed, and locking again is offline); packages with a missing or changed pin are resolved
again as a whole, on their feed. `refresh=True` resolves everything again. The lock file is replaced
atomically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from enlist import lockfile
from enlist.errors import ConfigError, EnvironmentFault
from enlist.model.packages import Lock, PackagesConfig, PackageSpec, Pin
from enlist.toolcache import enlistment
from enlist.toolcache.feeds import Feeds
from enlist.toolcache.layout import Layout
from enlist.toolcache.store import Store
from enlist.workspace import PACKAGES_LOCK


@dataclass(frozen=True, slots=True)
class LockResult:
    lock: Lock
    changed: bool
    resolved: tuple[str, ...]  # "name version" of the packages resolved on their feed


def stale_reasons(root: Path) -> list[str]:
    """Why the committed lock does not match packages.toml (offline); empty when it is fresh."""
    packages = enlistment.load(root)
    if packages.lock is None:
        return [f"{enlistment.LOCK_SHOWN} not found"] if packages.config.packages else []
    return lockfile.stale_reasons(packages.config, packages.lock)


def lock(root: Path, *, refresh: bool = False, cache: Path | None = None) -> LockResult:
    config = enlistment.load_config(root)
    path = root / PACKAGES_LOCK
    old_text = path.read_text(encoding="utf-8") if path.is_file() else ""
    try:
        old = lockfile.parse(old_text, enlistment.LOCK_SHOWN) if old_text and not refresh else Lock(())
    except ConfigError:
        old = Lock(())  # a conflicted or damaged lock is simply written again
    keep, todo = _partition(config, old)
    feeds = Feeds(config, root)
    store = Store(Layout.at(cache))
    pins = list(keep)
    for spec in todo:
        pins += feeds.get(spec.feed).resolve(spec, config.platforms_of(spec), store)
    new = Lock(tuple(sorted(pins)))
    text = lockfile.serialize(new)
    if text != old_text:
        _write(path, text)
    return LockResult(new, text != old_text, tuple(f"{s.name} {s.version}" for s in todo))


def _partition(config: PackagesConfig, old: Lock) -> tuple[list[Pin], list[PackageSpec]]:
    """Pins to keep, and the packages to resolve again (any of their wanted pins missing or different)."""
    wanted = lockfile.wanted(config)
    keep: list[Pin] = []
    todo: list[PackageSpec] = []
    for spec in config.packages:
        mine = [w for w in wanted if (w[0], w[1]) == spec.key]
        pins = [old.pin_for(name, version, platform) for name, version, platform, _ in mine]
        fresh = all(
            pin is not None and pin.feed == spec.feed and (url is None or pin.url == url)
            for pin, (_, _, _, url) in zip(pins, mine, strict=True)
        )
        if fresh:
            keep += sorted({p for p in pins if p is not None})
        else:
            todo.append(spec)
    return keep, todo


def _write(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    except OSError as e:
        raise EnvironmentFault(
            f"cannot write {enlistment.LOCK_SHOWN}: {e.strerror or e}",
            hint=f"check the permissions and free space of {path.parent}",
        ) from e
    finally:
        temp.unlink(missing_ok=True)
