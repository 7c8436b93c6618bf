"""`enlist restore`: put exactly what the lock pins for this platform into the cache (L2).

Plan, then apply (enlist.toolcache.plan): with every tree present the plan is all READY and restore returns
without touching the network. Otherwise distinct archives are realized in parallel, each under its digest
lock: fetch into `tmp/<hex>.part` (resuming a partial file left by a killed run), verify the sha256, store the
blob, unpack into tmp/ and rename the tree into place. Restore never resolves: it reads only the lock.

The result carries the restored packages' `PackageEnvironment`; callers run their post-restore steps with it
(the toolchain warms zig's libc there).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from enlist import digest
from enlist.errors import EnlistError, IntegrityError
from enlist.model.packages import PackageEnvironment, Pin
from enlist.toolcache import check, enlistment, registry
from enlist.toolcache.events import NullEvents, RestoreEvents
from enlist.toolcache.extract import Limits, extract
from enlist.toolcache.layout import Layout
from enlist.toolcache.plan import Step, StepKind, plan
from enlist.toolcache.platforms import host_platform
from enlist.toolcache.store import Store

if TYPE_CHECKING:  # feeds bring requests: imported only when there is something to fetch
    from enlist.toolcache.feeds import Feed, Feeds

DEFAULT_JOBS = 4


@dataclass(frozen=True, slots=True)
class RestoreResult:
    environment: PackageEnvironment
    steps: tuple[Step, ...]  # the plan (what was ready, unpacked, fetched)
    registered: bool  # False if the cache could not record this enlistment (gc might then remove its trees)

    def count(self, kind: StepKind) -> int:
        return sum(1 for s in self.steps if s.kind is kind)


def restore(
    root: Path,
    *,
    cache: Path | None = None,
    platform: str | None = None,
    events: RestoreEvents | None = None,
    jobs: int = DEFAULT_JOBS,
    dry_run: bool = False,
    limits: Limits | None = None,
) -> RestoreResult:
    packages = enlistment.load(root)
    pairs = enlistment.host_pins(packages, platform or host_platform())
    layout = Layout.at(cache)
    steps = plan([pin for _, pin in pairs], layout)
    if dry_run:
        return RestoreResult(check.environment_of(pairs, layout), steps, registered=False)
    registered = registry.record(layout, root, (s.pin.sha256 for s in steps))  # before work: a gc now sees it
    work = [s for s in steps if s.kind is not StepKind.READY]
    if work:
        from enlist.toolcache.feeds import Feeds

        events = events or NullEvents()
        events.planned(steps)
        try:
            apply(work, Feeds(packages.config, root), Store(layout), events, jobs=jobs, limits=limits)
        finally:
            events.close()
    return RestoreResult(check.environment_of(pairs, layout), steps, registered)


def apply(
    work: Sequence[Step],
    feeds: Feeds,
    store: Store,
    events: RestoreEvents,
    *,
    jobs: int = DEFAULT_JOBS,
    limits: Limits | None = None,
) -> None:
    """Realize every step; all independent steps finish even if one fails, then the failures are reported."""
    errors: list[tuple[Step, EnlistError]] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(jobs, len(work)))) as pool:
        futures = {
            pool.submit(realize, step.pin, feeds.get(step.pin.feed), store, events, step, limits): step
            for step in work
        }
        for future in concurrent.futures.as_completed(futures):
            try:
                future.result()
            except EnlistError as e:
                errors.append((futures[future], e))
    if errors:
        errors.sort(key=lambda se: se[0])
        first = errors[0][1]
        if len(errors) > 1:
            first.message += "".join(f"\n  also: {e.message}" for _, e in errors[1:])
            first.args = (first.message,)
        raise first


def realize(
    pin: Pin,
    feed: Feed,
    store: Store,
    events: RestoreEvents,
    step: Step | None = None,
    limits: Limits | None = None,
) -> None:
    """Make the tree of `pin` present: fetch and verify its archive if needed, unpack it, publish it."""
    step = step or Step(pin, StepKind.FETCH)
    layout = store.layout
    with store.locked(pin.sha256):
        if not layout.has_tree(pin.sha256):  # another process may have finished it while we waited
            if layout.has_blob(pin.sha256) and digest.of_file(layout.blob(pin.sha256)) != pin.sha256:
                store.remove_blob(pin.sha256)  # rotted on disk: the unpacker only ever sees verified bytes
            if not layout.has_blob(pin.sha256):
                fetch(pin, feed, store, events, step)
            transfer = events.unpacking(step)
            blob = layout.blob(pin.sha256)
            store.install_tree(
                pin.sha256,
                lambda work: extract(blob, work, file_name=pin.file_name, limits=limits, transfer=transfer),
            )
    events.done(step)


def fetch(pin: Pin, feed: Feed, store: Store, events: RestoreEvents, step: Step) -> None:
    """Download the archive of `pin` and store it as a blob, or refuse bytes that differ. Call it locked."""
    part = store.layout.partial(pin.sha256)
    label = f"{pin.package} {pin.version} ({pin.platform})"
    with store.faults():
        part.parent.mkdir(parents=True, exist_ok=True)
        resumed = part.is_file()
        if resumed and digest.of_file(part) == pin.sha256:  # a killed run had finished the download
            store.commit_blob(part, pin.sha256, pin.sha256, label)
            return
        actual = feed.fetch(pin, part, events.fetching(step))
    try:
        store.commit_blob(part, pin.sha256, actual, label)
    except IntegrityError:
        if not resumed:
            raise
        with store.faults():  # the partial file we resumed may have been stale: one clean attempt
            actual = feed.fetch(pin, part, events.fetching(step))
        store.commit_blob(part, pin.sha256, actual, label)
