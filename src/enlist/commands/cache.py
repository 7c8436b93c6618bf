"""`enlist cache stats|verify [--repair]|gc [--days N] [--dry-run]|export BUNDLE [--platform P]|import BUNDLE`:
look after the machine cache, and carry a lock's archives to a machine without feeds (`enlist.toolcache.bundle`).

`stats` counts the toolcache and the action cache with its CAS; `verify` checks both; `gc` trims both (the
toolcache by what registered enlistments use, the action cache by when its entries were last used, then the
blobs no remaining entry names) and removes what killed builds left in their temporary directories.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from enlist import workspace
from enlist.errors import EnlistError, ExitCode
from enlist.model.packages import Pin
from enlist.toolcache import enlistment, maintenance, registry
from enlist.toolcache.layout import Layout

if TYPE_CHECKING:
    from enlist.toolcache.feeds import Feed, Feeds

DEFAULT_DAYS = 30


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    stats = sub.add_parser("stats", help="sizes and counts of the toolcache and the action cache")
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    verify = sub.add_parser(
        "verify", help="rehash every archive, unpacked tree, action-cache entry and CAS blob"
    )
    verify.add_argument(
        "--repair",
        action="store_true",
        help="delete corrupt entries; make archives and trees again (action-cache entries are simply dropped)",
    )
    gc = sub.add_parser("gc", help="delete what no recent restore or build used")
    gc.add_argument(
        "--days",
        type=_days,
        default=DEFAULT_DAYS,
        metavar="N",
        help=(
            "keep what enlistments restored in the last N days use, and the action-cache entries used in the "
            f"last N days with their blobs (default {DEFAULT_DAYS})"
        ),
    )
    gc.add_argument("--dry-run", action="store_true", help="say what would be deleted, delete nothing")
    export = sub.add_parser("export", help="write every archive the lock pins into one offline bundle")
    export.add_argument("bundle", metavar="BUNDLE", type=Path, help="the bundle file to write")
    export.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="P",
        help="only the pins of this platform (repeatable; default: every platform of the lock)",
    )
    imported = sub.add_parser("import", help="verify a bundle and add its archives to the toolcache")
    imported.add_argument("bundle", metavar="BUNDLE", type=Path, help="a bundle made by `enlist cache export`")


def run(args: argparse.Namespace) -> int:
    layout = Layout.at()
    if args.action == "stats":
        return _stats(layout, as_json=args.json)
    if args.action == "verify":
        return _verify(layout, repair=args.repair)
    if args.action in ("export", "import"):
        return _bundle(args)
    return _gc(layout, days=args.days, dry_run=args.dry_run)


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not days >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number of days, 0 or more, not {text!r}")
    return days


def _stats(layout: Layout, *, as_json: bool) -> int:
    """The toolcache and, under the same cache root, the action cache and its CAS."""
    import time

    from enlist.console.progress import human_bytes
    from enlist.store import maintenance as store_maintenance

    s = maintenance.stats(layout)
    ac = store_maintenance.stats(layout.root.parent)
    idle = None if ac.least_recent_use is None else max(0, int(time.time() - ac.least_recent_use))
    if as_json:
        data = {
            "action_cache_bytes": ac.entry_bytes,
            "action_cache_entries": ac.entries,
            "archive_bytes": s.blob_bytes,
            "archives": s.blobs,
            "cas_blobs": ac.blobs,
            "cas_bytes": ac.blob_bytes,
            "enlistments": s.enlistments,
            "oldest_entry_seconds": idle,
            "root": str(s.root),
            "temporary": s.temp_entries,
            "tree_bytes": s.tree_bytes,
            "trees": s.trees,
        }
        print(json.dumps(data, sort_keys=True))
        return ExitCode.OK
    oldest = "" if idle is None else f"; the least recently used {_ago(idle)}"
    print(f"toolcache    {s.root}")
    print(f"archives     {s.blobs} ({human_bytes(s.blob_bytes)})")
    print(f"trees        {s.trees} ({human_bytes(s.tree_bytes)})")
    print(f"enlistments  {s.enlistments} registered")
    print(f"temporary    {s.temp_entries} entries")
    print(f"action cache {ac.entries} entries ({human_bytes(ac.entry_bytes)}) in {ac.root / 'ac'}{oldest}")
    print(f"CAS          {ac.blobs} blobs ({human_bytes(ac.blob_bytes)}) in {ac.root / 'cas'}")
    return ExitCode.OK


def _ago(seconds: int) -> str:
    days = seconds // 86400
    return "less than a day ago" if days < 1 else "1 day ago" if days == 1 else f"{days} days ago"


def _gc(layout: Layout, *, days: float, dry_run: bool) -> int:
    """Trim the toolcache, then the action cache and its CAS, then what killed builds and restores left."""
    import time

    from enlist.console.progress import human_bytes
    from enlist.store import maintenance as store_maintenance
    from enlist.store.local import remove_stale_temporaries

    now = time.time()
    tools = maintenance.gc(layout, days=days, now=now, dry_run=dry_run)
    store = store_maintenance.gc(layout.root.parent, days=days, now=now, dry_run=dry_run)
    engine_temp = remove_stale_temporaries(  # what killed builds left in the action cache's tmp/
        layout.root.parent, older_than=maintenance.TEMP_MAX_AGE, now=now, dry_run=dry_run
    )
    verb = "would remove" if dry_run else "removed"
    entries, blobs = store.entries, store.blobs
    damaged = f", {store.damaged} of them damaged" if store.damaged else ""
    young = f" ({store.young} that no entry names, written in the last hour)" if store.young else ""
    print(
        f"gc: toolcache: {verb} {len(tools.removed)} entries ({human_bytes(tools.freed_bytes)}), "
        f"kept {tools.kept}; {tools.records_removed} stale enlistment records"
    )
    print(
        f"gc: action cache: {verb} {entries.removed} entries ({human_bytes(entries.removed_bytes)}{damaged}), "
        f"kept {entries.kept}"
    )
    print(f"gc: CAS: {verb} {blobs.removed} blobs ({human_bytes(blobs.removed_bytes)}), kept {blobs.kept}{young}")
    print(f"gc: {verb} {tools.temp_removed + engine_temp} temporary leftovers")
    return ExitCode.OK


def _bundle(args: argparse.Namespace) -> int:
    from enlist.console.progress import human_bytes, restore_events
    from enlist.toolcache import bundle

    if args.action == "import":
        done = bundle.import_bundle(args.bundle)
        print(
            f"import: {done.archives} archives for {done.pins} pins (lock {done.lock[:12]}), all verified: "
            f"{done.added} added, {done.archives - done.added} already in the cache"
        )
        return ExitCode.OK
    events = restore_events(sys.stderr)
    try:
        made = bundle.export_bundle(workspace.find_root(), args.bundle, platforms=args.platform, events=events)
    finally:
        events.close()
    print(
        f"export: wrote {args.bundle}: {made.archives} archives for {made.pins} pins "
        f"({human_bytes(made.bytes)}; {made.fetched} fetched from their feeds)"
    )
    return ExitCode.OK


def _verify(layout: Layout, *, repair: bool) -> int:
    """The toolcache (archives, trees) and the action cache (entries, CAS blobs) under one cache root."""
    from enlist.store import verify

    events = None
    if repair:
        from enlist.console.progress import restore_events

        events = restore_events(sys.stderr)
    report = maintenance.verify(
        layout, repair=repair, source=_Sources(layout) if repair else None, events=events
    )
    store = verify.verify(layout.root.parent, repair=repair)
    for problem in [*report.problems, *store.problems]:
        print(f"verify: corrupt {problem}")
    for sha256 in report.repaired:
        print(f"verify: repaired {sha256}")
    for sha256 in report.removed:
        print(f"verify: removed {sha256} (no known lock pins it; it is fetched again when a lock needs it)")
    for removed in store.removed:
        print(f"verify: removed {removed.area} {removed.name}")
    if repair and any(p.entry == "tree" for p in report.problems):
        cleared = verify.clear_entries(layout.root.parent)
        print(f"verify: cleared the action cache ({cleared} entries): actions may have run with a damaged tool")
    summary = (
        f"verify: {report.blobs} archives, {report.trees} trees, {store.entries} action-cache entries and "
        f"{store.blobs} CAS blobs checked"
    )
    problems = len(report.problems) + len(store.problems)
    if not problems:
        print(f"{summary}, all good")
        return ExitCode.OK
    print(f"{summary}, {problems} corrupt")
    if not repair:
        print("  hint: run `enlist cache verify --repair`", file=sys.stderr)
        return ExitCode.ENVIRONMENT
    return ExitCode.OK


class _Sources:
    """Where a digest can be fetched again: the pins of this enlistment and of every registered one."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self._index: dict[str, tuple[Pin, Path]] | None = None
        self._feeds: dict[Path, Feeds] = {}

    def _roots(self) -> list[Path]:
        roots = [r.root for r in registry.records(self.layout)]
        with contextlib.suppress(EnlistError):
            roots.insert(0, workspace.find_root())
        return roots

    def _build(self) -> dict[str, tuple[Pin, Path]]:
        index: dict[str, tuple[Pin, Path]] = {}
        for root in reversed(self._roots()):  # the current enlistment last, so it wins
            try:
                packages = enlistment.load(root)
            except (EnlistError, OSError):
                continue
            for pin in packages.lock.pins if packages.lock else ():
                index[pin.sha256] = (pin, root)
        return index

    def __call__(self, sha256: str) -> tuple[Pin, Feed] | None:
        from enlist.toolcache.feeds import Feeds

        if self._index is None:
            self._index = self._build()
        if sha256 not in self._index:
            return None
        pin, root = self._index[sha256]
        if root not in self._feeds:
            self._feeds[root] = Feeds(enlistment.load_config(root), root)
        return pin, self._feeds[root].get(pin.feed)
