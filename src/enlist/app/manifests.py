"""The manifest a complete build writes (L3): `out/<config>/manifest.json` (format in `enlist.manifest`).

The planner writes everything a manifest says about the plan (`manifest-base.json`: build, config, toolchain,
tools, the lock's digest); after each complete, successful build this module adds what only the build knows,
the digest of every published file, and the commit and dirty state the build started from. It is kept apart
from `enlist.app.planning` because every build that ran something writes a manifest, and a build after a
one-line edit must not import the planner, TOML or the toolchain rules to do it.

Every published file is read again for the manifest: that is how a file changed behind the build's back
(keeping its size and time) is caught. `published_digests` does most of that while the build runs: it hashes
the files the last manifest names, noting each file's stat signature before and after, so that afterwards only
the files the build published anew (or that changed since) are read.
"""

from __future__ import annotations

import json
from pathlib import Path

from enlist import canonical, digest, vcs
from enlist.errors import EnvironmentFault, IntegrityError
from enlist.store import noop
from enlist.store.state import MANIFEST_BASE, manifest_path, state_dir, write_atomic

TYPE_CHECKING = False  # typing.TYPE_CHECKING: see enlist.cli
if TYPE_CHECKING:
    from enlist.engine.builder import BuildResult
    from enlist.model.revision import Revision
    from enlist.store.state import PlanState


Seen = dict[str, tuple[tuple[int, int, int], str]]  # path -> (stat signature, sha256) when it was hashed


def published_digests(root: Path, config: str) -> Seen:
    """The digests of the files the last manifest says were published, each with the stat signature it had
    both before and after it was read (a file replaced meanwhile is left out)."""
    try:
        paths = sorted(json.loads(manifest_path(root, config).read_text(encoding="utf-8"))["published"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    seen: Seen = {}
    for rel in paths:
        path = root / rel
        before = noop.signature(str(path))
        try:
            found = digest.of_file(path)
        except OSError:
            continue
        if before is not None and noop.signature(str(path)) == before:
            seen[rel] = (before, found)
    return seen


def after_build(
    state: PlanState, result: BuildResult, revision: Revision | None = None, seen: Seen | None = None
) -> None:
    """Write `out/<config>/manifest.json` after a successful build of every action; a partial build (DIRS,
    `--pass`) or a failed one leaves the last manifest alone rather than record half a build. `seen`: what
    `published_digests` found while the build ran."""
    if not result.ok or len(result.selected) != len(state.actions):
        return
    root = Path(state.roots.enlistment)
    try:
        base = json.loads((state_dir(root, state.config) / MANIFEST_BASE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # planned by an older enlist: the next plan writes it
    published = _published(root, state, result, seen or {})
    revision = revision or vcs.revision(root)  # the caller may have asked git while the build ran
    base["published"] = dict(sorted(published.items()))
    base["revision"] = {"commit": revision.commit, "dirty": revision.dirty}
    write_atomic(manifest_path(root, state.config), canonical.pretty(base).encode("utf-8"))


def _published(root: Path, state: PlanState, result: BuildResult, seen: Seen) -> dict[str, str]:
    """The digest of every published file, which must be what the build published: a file changed behind the
    build's back (in place, keeping its size and time) is removed, so that the next build publishes it again,
    and the manifest is not written."""
    table = state.actions
    published: dict[str, str] = {}
    changed: list[tuple[str, str]] = []  # (path, the digest the build published)
    for i, kind in enumerate(table.kinds):
        if kind != "publish":
            continue
        record = result.records.get(table.ids[i])
        for k, path in enumerate(table.outputs[i]):  # the column: cheaper than decoding every publish action
            try:
                known = seen.get(path)
                if known is not None and known[0] == noop.signature(str(root / path)):
                    published[path] = known[1]  # read during the build, and not touched since
                else:
                    published[path] = digest.of_file(root / path)
            except OSError as e:
                raise EnvironmentFault(f"cannot hash published file {path}: {e.strerror}") from e
            if record is not None and record.outputs[k] != published[path]:
                changed.append((path, record.outputs[k]))
    if changed:
        for path, _ in changed:
            (root / path).unlink(missing_ok=True)
        path, expected = changed[0]
        more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
        raise IntegrityError(
            f"a published file changed after the build published it: {path} (sha256 {published[path]}, "
            f"published as {expected}){more}",
            hint="it was removed and the manifest was not written; build again to publish it anew, and find what "
            "writes into public/ behind the build's back",
        )
    return published
