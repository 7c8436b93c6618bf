"""`enlist clean [--config C]`: delete what builds of a config wrote into the enlistment.

That is every output of the last plan (objects, libraries, programs, depfiles, under each project's
`obj/<config>/`), the public tree `public/<config>/` and `out/<config>/` (logs, manifest, the tree's state).
The machine-wide action cache is left alone (`enlist cache gc` trims it), so the next build may be served from
it.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from enlist import workspace
from enlist.app.build import remove_leftovers
from enlist.publish import remove_stale
from enlist.store import state
from enlist.store.lock import TreeLock


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="the config to clean (default: the current one)")


def run(args: argparse.Namespace) -> int:
    settings = workspace.load()
    root = settings.root
    config = workspace.current_config(settings, args.config)
    directory = state.state_dir(root, config)
    with TreeLock(directory, lambda text: print(f"enlist: {text}")):
        previous = state.load(directory)
        removed: list[str] = []
        if previous is not None:
            remove_leftovers(root, directory, [previous.plan])  # so that emptied directories go too
            outputs = {p for a in previous.plan.actions for p in a.outputs}
            outputs |= {a.depfile for a in previous.plan.actions if a.depfile}
            removed = remove_stale(root, outputs)
        shutil.rmtree(root / "public" / config, ignore_errors=True)
        _clear(root / "out" / config, keep=(directory / "lock", directory / "commands"))
    print(f"enlist: cleaned {config}: {len(removed)} outputs, public/{config}/ and out/{config}/")
    return 0


def _clear(tree: Path, keep: tuple[Path, ...]) -> None:
    """Delete everything under `tree` except `keep` (the locks this command holds) and their directories."""
    if not tree.is_dir():
        return
    for child in tree.iterdir():
        if child in keep:
            continue
        if any(child in k.parents for k in keep):
            _clear(child, keep)
        elif child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
