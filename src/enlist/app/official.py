"""Official builds, wired (L3): `enlist build --official --build-number N [--publish FEED]` and
`enlist publish FEED`.

An official build is what a lab makes and ships (docs/official.md):
1. it refuses a tree that is not exactly its commit (`require_clean`): outside git, tracked files that differ
   from HEAD, or untracked files that are not ignored, since a build could read any of them;
2. it runs every action: no output of an earlier build counts as up to date and the action cache is not read
   (it is written, so later developer builds of the same commit are cache hits);
3. the planner stamps `<version>.<N>` and the commit into programs and shared libraries;
4. after a successful build it checks that the tree is still that commit, writes the manifest (as every build
   does) and packages the published files into `out/<config>/packages/` (`enlist.release.package`);
5. with `--publish FEED`, it publishes that drop (`publish`), as `enlist publish FEED` does later.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enlist import workspace
from enlist.app.build import run_build
from enlist.app.manifests import after_build
from enlist.app.planning import PACKAGE_NAMES
from enlist.errors import EnvironmentFault, InputError
from enlist.model.packages import FeedKind
from enlist.model.revision import Revision
from enlist.packagesfile import normalize_name
from enlist.release.folder import publish_folder
from enlist.release.package import Drop, make_drop, read_drop
from enlist.release.upload import UploadTarget, publish_http
from enlist.store import state
from enlist.store.lock import TreeLock
from enlist.toolcache import enlistment
from enlist.toolcache.http import redact
from enlist.vcs import differences, revision

if TYPE_CHECKING:
    from enlist.app.build import BuildRequest, Console
    from enlist.model.plan import Planner

SHOWN = 12  # differences listed in an error before "and N more"


@dataclass(frozen=True, slots=True)
class FolderTarget:
    path: Path

    def __str__(self) -> str:
        return str(self.path)


Target = FolderTarget | UploadTarget


def require_clean(root: Path) -> Revision:
    """The commit the tree is exactly, or an InputError naming what differs."""
    found = differences(root)
    current = revision(root)
    if found is None or not current.commit:
        raise InputError(
            f"an official build needs a git checkout: {root} is not one",
            hint="an official build is a build of a commit; clone the enlistment and build there",
        )
    if found:
        listed = "".join(f"\n  {line}" for line in found[:SHOWN])
        more = f"\n  ... and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        raise InputError(
            f"an official build needs a clean tree; {len(found)} files differ from commit "
            f"{current.commit[:12]}:{listed}{more}",
            hint="commit or revert them (`git status`); add build outputs to .gitignore; untracked files "
            "count because a build can read them",
        )
    return current


def drop_dir(root: Path, config: str) -> Path:
    return root / "out" / config / "packages"


def package(root: Path, config: str, built_from: Revision) -> Drop:
    """Package the published files of the official build just made (call it holding the tree's lock)."""
    after = revision(root)  # untracked files may appear now: the build's outputs, wherever they are
    if after.commit != built_from.commit or after.dirty:
        changed = [line for line in differences(root) or [] if not line.startswith("??")]
        listed = "".join(f"\n  {line}" for line in changed[:SHOWN])
        raise InputError(
            f"the checkout changed during the official build (commit {built_from.commit[:12]} -> "
            f"{after.commit[:12] or 'none'}); nothing was packaged{listed}",
            hint="build again once nothing else changes the checkout",
        )
    out = root / "out" / config
    manifest = _read_json(out / "manifest.json")
    build = manifest.get("build", {})
    if not build.get("official") or manifest.get("revision", {}).get("commit") != built_from.commit:
        raise InputError(
            f"out/{config}/manifest.json is not the manifest of this official build; nothing was packaged",
            hint="build again with --official",
        )
    names = _read_json(state.state_dir(root, config) / PACKAGE_NAMES)
    published = _published_by_project(root, config)
    settings = workspace.load(root)
    return make_drop(
        drop_dir(root, config),
        root=root,
        enlistment=normalize_name(settings.name),
        manifest=manifest,
        published=published,
        names=names,
        mtime=built_from.time,
    )


def _published_by_project(root: Path, config: str) -> dict[str, list[str]]:
    """The files each project's publish actions wrote (overlays of provided packages are not ours)."""
    loaded = state.load(state.state_dir(root, config))
    if loaded is None:
        raise EnvironmentFault(f"out/{config}/.enlist holds no build state", hint="build again")
    actions = loaded.plan.actions
    found: dict[str, list[str]] = {}
    for project, kind, outputs in zip(actions.projects, actions.kinds, actions.outputs, strict=True):
        if kind == "publish" and project != ".":
            found.setdefault(project, []).extend(outputs)
    return found


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EnvironmentFault(f"cannot read {path}: {e}", hint="build again") from e
    if not isinstance(data, dict):
        raise EnvironmentFault(f"{path}: not a JSON object", hint="build again")
    return data


def resolve_target(root: Path, feed: str) -> Target:
    """FEED as given to `--publish`: a feed of packages.toml by name, a folder (a path with a `/`, or
    file://), or an upload URL (http:// or https://)."""
    config = enlistment.load_config(root)
    named = {f.name: f for f in config.feeds}
    if feed in named:
        spec = named[feed]
        if spec.upload is not None:
            return UploadTarget(name=spec.name, upload=spec.upload, files=spec.url)
        if spec.kind is FeedKind.FOLDER and spec.url is not None:
            return FolderTarget(_folder(root, spec.url))
        raise InputError(
            f"feed '{feed}' takes no uploads",
            hint=f'give [feeds.{feed}] an `upload = "https://..."` URL (the PyPI upload API of its server)',
        )
    if feed.startswith(("http://", "https://")):
        return UploadTarget(name="publish", upload=feed)
    if feed.startswith("file:") or "/" in feed or feed.startswith("."):
        return FolderTarget(_folder(Path.cwd(), feed))
    known = ", ".join(sorted(named)) or "none"
    raise InputError(
        f"no feed '{feed}' in {enlistment.TOML_SHOWN}",
        hint=f"name a feed ({known}), a folder path with a '/' (./drops, //server/share) or an http(s):// URL",
    )


def _folder(base: Path, url: str) -> Path:
    if url.startswith("file:"):
        import urllib.parse
        import urllib.request

        return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    return Path(os.path.abspath(base / url))


def publish(drop: Drop, target: Target) -> str:
    """Publish a drop; the line that says what was done."""
    if isinstance(target, FolderTarget):
        done = publish_folder(drop, target.path)
        shown = str(target.path)
    else:
        done = publish_http(drop, target)
        shown = redact(target.upload) if target.name == "publish" else f"feed '{target.name}'"
    manifests = sorted(drop.index.manifests)
    what = ", ".join(f"{m.enlistment} {m.version} ({m.config})" for m in manifests) or "packages"
    return (
        f"published {len(drop.index.packages)} packages and the manifest of {what} to {shown}: "
        f"{len(done.added)} files added, {len(done.present)} already there"
    )


def publish_last(root: Path, config: str, target: Target) -> str:
    """`enlist publish FEED`: the drop of the last official build of `config`, published to `target`."""
    with TreeLock(state.state_dir(root, config), _notice):
        return publish(read_drop(drop_dir(root, config)), target)


def run_official(
    request: BuildRequest, planner: Planner, console: Console, *, built_from: Revision, target: Target | None
) -> int:
    """Build (every action), package, and publish when asked; the exit code."""
    code = run_build(request, planner, console, after=after_build)
    if code != 0:
        return code
    root, config = request.root, request.config
    with TreeLock(state.state_dir(root, config), _notice):
        drop = package(root, config, built_from)
    version = drop.index.manifests[0].version if drop.index.manifests else "?"
    names = ", ".join(sorted(p.name for p in drop.index.packages)) or "none"
    _notice(f"packaged {version} ({config}): {names} in out/{config}/packages/")
    if target is not None:
        try:
            _notice(publish(drop, target))
        except (InputError, EnvironmentFault) as e:
            e.hint = (e.hint + "; " if e.hint else "") + (
                f"the packages stay in out/{config}/packages/: `enlist publish FEED` publishes them again"
            )
            raise
    return 0


def _notice(text: str) -> None:
    print(f"enlist: {text}", flush=True)
