"""`enlist reproduce MANIFEST|URL`, wired (L3): rebuild the commit a manifest records with that commit's own
enlist, from nothing, and compare every published file with the record (DESIGN.md §8).

1. Read the manifest (a file, or an http(s) URL) and refuse what cannot be reproduced: a build of a dirty tree
   (its sources are in no commit), or one made outside git.
2. Check out the commit in a new temporary directory (`enlist.vcs.checkout`): from `--repo`, else from the git
   repository of the working directory, else from the one holding the manifest file.
3. Make sure every pin of that commit's lock can be restored (it is in the toolcache, or its feed still has
   the file), so that a pin gone from its feed is named before anything is set up.
4. Run that commit's `bootstrap.py build --no-cache --config C` (plus `--official --build-number N` for an
   official build): the historic orchestrator, installed from that commit with its own pinned requirements,
   restores exactly its pins and executes every action. `ENLIST_TOOLCHAIN` is set to the recorded toolchain
   kind, and the host variables that commit's `[environment] allow` names are exactly those the manifest
   records (the others unset), whatever this environment holds; a manifest written before they were recorded
   leaves this environment's values, and says so. Its output goes to stderr; the verdict goes to stdout.
5. Compare the manifest that build writes with the record: every published file's sha256, and the lock,
   tools, toolchain, config, version and environment (when recorded). Each differing file is explained
   (`enlist.diffreport`: diffoscope when installed) when the recorded bytes are on this machine: next to the
   manifest (`<root>/out/<config>/manifest.json` -> `<root>/<path>`, if the digest still matches) or in the
   local CAS.
6. Delete the temporary directory, whatever happened.

Exit codes: 0 every file reproduced; 1 a difference, or the historic build failed; 2 a manifest that cannot
be reproduced (dirty, no commit, malformed); 3 the environment (a commit or a pin that cannot be found, git
missing, a feed unreachable).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from enlist import canonical, diffreport, digest, divergence, manifest, vcs, workspace
from enlist.errors import EnlistError, EnvironmentFault, ExitCode, FeedError, InputError, Location

BOOTSTRAP = "bootstrap.py"
NAMES = ("recorded", "reproduced")
MAX_EXPLAINED = 10  # differing files explained in full; the table lists them all
COMPARED_FIELDS = ("build", "config", "environment", "lock", "toolchain", "tools")
NOT_PASSED_ON = ("ENLIST_ROOT", "ENLIST_CONFIG", "VIRTUAL_ENV")  # they would name this enlistment, not the checkout
STOP_SECONDS = 10


@dataclass(frozen=True, slots=True)
class Recorded:
    """A manifest to reproduce, checked."""

    source: str  # as the user named it
    file: Path | None  # the manifest's file, when it is one on this machine
    doc: dict[str, Any]
    commit: str
    config: str
    official: bool
    build_number: int | None
    toolchain: str | None  # "zig" or "host", as recorded
    environment: dict[str, str] | None = None  # the allowed host variables that were set; None: not recorded

    @property
    def published(self) -> dict[str, str]:
        return dict(self.doc.get("published") or {})


@dataclass(frozen=True, slots=True)
class ReproduceRequest:
    source: str  # MANIFEST path or URL
    repo: str | None = None  # a repository path or URL that holds the commit
    jobs: int | None = None


def reproduce(request: ReproduceRequest, out: TextIO, err: TextIO) -> int:
    recorded = load(request.source)
    repo, prefix = _repository(request.repo, recorded)
    with _temporary("enlist-reproduce-") as work:
        checkout = work / recorded.commit[:12]
        _say(err, f"checking out {recorded.commit[:12]} in {checkout}")
        vcs.checkout(repo, recorded.commit, checkout)
        root = checkout / prefix
        if not (root / BOOTSTRAP).is_file():
            raise InputError(
                f"commit {recorded.commit[:12]} has no {prefix}{BOOTSTRAP}: it is not an enlistment",
                hint="run reproduce from the enlistment (or name its repository with --repo)",
            )
        check_pins(root, recorded.commit)
        args, allowed = build_argv(recorded, request.jobs), _allowed(root)
        for line in environment_report(recorded, allowed, os.environ):
            _say(err, line)
        _say(err, f"building {recorded.config} with that commit's {BOOTSTRAP} (no cache)")
        code = _build(root, args, build_env(recorded, allowed, os.environ), err)
        if code != 0:
            return _build_failed(recorded, code, out)
        rebuilt = manifest.read_manifest(manifest.manifest_path(root, recorded.config))
        return _report(recorded, rebuilt, root, work / "diff", out)


def load(source: str) -> Recorded:
    """Read and check the manifest at `source` (a path, a file:// URL or an http(s) URL)."""
    file: Path | None = None
    if source.startswith(("http://", "https://")):
        doc = manifest.parse_manifest(_fetch(source), source)
    else:
        file = Path(source.removeprefix("file://")).resolve()
        doc = manifest.read_manifest(file)
    return checked(doc, source, file)


def checked(doc: dict[str, Any], source: str, file: Path | None = None) -> Recorded:
    """The manifest's fields that reproduce needs; InputError for one it cannot reproduce."""
    where = Location(source)
    revision, build = doc.get("revision"), doc.get("build")
    config = doc.get("config")
    if not isinstance(revision, dict) or not isinstance(build, dict) or not isinstance(config, str):
        raise InputError("the manifest lacks its revision, build or config", location=where)
    commit = revision.get("commit")
    if not commit or not isinstance(commit, str):
        raise InputError(
            "this build was made outside git: there is no commit to reproduce",
            hint="reproduce builds of a git checkout",
            location=where,
        )
    if not divergence.is_commit(commit):
        raise InputError(f"revision.commit is not a commit id: {commit[:80]!r}", location=where)
    if revision.get("dirty") is not False:
        raise InputError(
            f"this build was made from a dirty tree (commit {commit[:12]} plus uncommitted changes): "
            "it cannot be reproduced",
            hint="only builds of a clean tree can be reproduced; official builds always are",
            location=where,
        )
    workspace.check_config(config, where)
    number = build.get("build_number")
    toolchain = doc.get("toolchain")
    return Recorded(
        source=source,
        file=file,
        doc=doc,
        commit=commit,
        config=config,
        official=bool(build.get("official")),
        build_number=number if isinstance(number, int) else None,
        toolchain=toolchain.get("kind") if isinstance(toolchain, dict) else None,
        environment=manifest.recorded_environment(doc, source),
    )


def build_argv(recorded: Recorded, jobs: int | None = None) -> list[str]:
    """The arguments of the historic `bootstrap.py` (after the script's name)."""
    argv = ["build", "--no-cache", "--config", recorded.config]
    if jobs is not None:
        argv += ["-j", str(jobs)]
    if recorded.official:
        if recorded.build_number is None:
            raise InputError(
                "the manifest of an official build lacks its build number", location=Location(recorded.source)
            )
        argv += ["--official", "--build-number", str(recorded.build_number)]
    return argv


def build_env(recorded: Recorded, allowed: Sequence[str], current: Mapping[str, str]) -> dict[str, str]:
    """The environment of the historic `bootstrap.py`: this one, with the recorded toolchain kind and, when
    the manifest records the allowed host variables, those it records set to their values and the other
    `allowed` ones unset."""
    env = {name: value for name, value in current.items() if name not in NOT_PASSED_ON}
    if recorded.toolchain:
        env["ENLIST_TOOLCHAIN"] = recorded.toolchain
    if recorded.environment is not None:
        for name in allowed:
            env.pop(name, None)
        env.update(recorded.environment)
    return env


def environment_report(recorded: Recorded, allowed: Sequence[str], current: Mapping[str, str]) -> list[str]:
    """What `build_env` does to the allowed host variables, in words: every variable it sets, with its value
    as recorded (they are not secrets: they shaped the build), and every one it takes away."""
    if recorded.environment is None:
        return [
            "the manifest does not record the allowed host variables ([environment] allow): "
            "the build sees this environment's values",
            *(
                f"passing {name}={_shown(current[name])} (this environment's value)"
                for name in allowed
                if name in current
            ),
        ]
    lines = [f"set {name}={_shown(value)} (as recorded)" for name, value in recorded.environment.items()]
    lines += [
        f"unset {name} (allowed, but not set for the recorded build)"
        for name in sorted(set(allowed) - set(recorded.environment))
        if name in current
    ]
    return lines or ["no allowed host variable was set for the recorded build, nor is one set for this one"]


def _shown(value: str) -> str:
    """A value as recorded; one that would break the line (a newline, a control character) in JSON quotes."""
    return value if value.isprintable() else json.dumps(value)


def _allowed(root: Path) -> tuple[str, ...]:
    """The variables `[environment] allow` names at the checked-out commit; () when this enlist cannot read
    its settings (the historic build reports what is wrong with them)."""
    try:
        return workspace.load(root).env_allow
    except EnlistError:
        return ()


def check_pins(root: Path, commit: str) -> None:
    """Every pin of the lock at `root` that the toolcache lacks must still be on its feed (one cheap request
    each); FeedError naming every one that is not. A lock this enlist cannot read is left to the historic
    orchestrator's own restore."""
    from enlist.toolcache import enlistment
    from enlist.toolcache.layout import Layout
    from enlist.toolcache.platforms import host_platform

    try:
        packages = enlistment.load(root)
        pins = [pin for _, pin in enlistment.host_pins(packages, host_platform())]
    except EnlistError:
        return
    layout = Layout.at()
    missing = [p for p in pins if not layout.has_tree(p.sha256) and not layout.has_blob(p.sha256)]
    if not missing:
        return
    from enlist.toolcache.feeds import Feeds

    feeds = Feeds(packages.config, root)
    gone = []
    for pin in missing:
        try:
            feeds.get(pin.feed).reach(pin)
        except FeedError as e:
            gone.append(f"{pin.package} {pin.version} ({pin.platform}, sha256 {pin.sha256[:12]}): {e.message}")
    if gone:
        raise FeedError(
            f"commit {commit[:12]} pins {divergence.plural(len(gone), 'file')} that no feed has any more: "
            + "; ".join(gone),
            hint="put the file back on its feed, or restore it into the cache from an offline copy of the "
            "release's pins (the sha256 must match)",
        )


def _fetch(url: str) -> str:
    from enlist.toolcache.http import HttpClient, split_credentials

    clean, credentials = split_credentials(url, "manifest")
    try:
        return HttpClient().get_text(clean, credentials)
    except FeedError as e:
        raise FeedError(f"cannot read the manifest: {e.message}", hint=e.hint) from e


def _repository(explicit: str | None, recorded: Recorded) -> tuple[str, str]:
    """(repository path or URL, the enlistment's directory inside it: "" or "sub/dir/")."""
    if explicit:
        return explicit, ""
    for start in (Path.cwd(), recorded.file.parent if recorded.file else None):
        if start is None:
            continue
        top = vcs.toplevel(start)
        if top is not None:
            return str(top), _prefix(start, top)
    raise InputError(
        "not in a git repository: which one holds the commit?",
        hint="run reproduce inside a clone of the enlistment, or pass --repo PATH|URL",
    )


def _prefix(start: Path, top: Path) -> str:
    try:
        root = workspace.find_root(start).resolve()
        rel = root.relative_to(top.resolve()).as_posix()
    except (EnlistError, ValueError):
        return ""
    return "" if rel == "." else rel + "/"


@contextmanager
def _temporary(prefix: str) -> Iterator[Path]:
    from enlist.toolcache.store import make_writable

    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        with suppress(OSError):
            make_writable(work)
        shutil.rmtree(work, ignore_errors=True)


def _build(root: Path, args: list[str], env: dict[str, str], err: TextIO) -> int:
    argv = [sys.executable, str(root / BOOTSTRAP), *args]
    try:
        proc = subprocess.Popen(
            argv, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    except OSError as e:
        raise EnvironmentFault(f"cannot run {BOOTSTRAP}: {e.strerror}") from e
    assert proc.stdout is not None
    try:
        with proc.stdout:
            for line in proc.stdout:  # passed on as it comes: a long build shows its progress
                err.write(line.decode("utf-8", "replace"))
                err.flush()
        return proc.wait()
    finally:
        if proc.poll() is None:  # interrupted: the build must stop before its directory is deleted
            proc.terminate()
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _build_failed(recorded: Recorded, code: int, out: TextIO) -> int:
    what = "failed" if code == ExitCode.BUILD_FAILED else f"stopped (exit code {code})"
    out.write(
        f"reproduce: the build of {recorded.commit[:12]} ({recorded.config}) {what}: "
        "nothing was compared (see its output above)\n"
    )
    return code if code in (ExitCode.USAGE, ExitCode.ENVIRONMENT, ExitCode.INTERRUPTED) else ExitCode.BUILD_FAILED


def _report(recorded: Recorded, rebuilt: dict[str, Any], root: Path, work: Path, out: TextIO) -> int:
    fields = [
        name
        for name in COMPARED_FIELDS
        if recorded.doc.get(name) != rebuilt.get(name)
        and (name != "environment" or recorded.environment is not None)  # not recorded: nothing to compare
    ]
    files = divergence.compare_files(recorded.published, dict(rebuilt.get("published") or {}))
    what = f"{recorded.config}, commit {recorded.commit[:12]}"
    if not fields and not files:
        out.write(f"reproduce: reproduced {divergence.plural(len(recorded.published), 'file')} ({what})\n")
        return ExitCode.OK
    for name in fields:
        out.write(
            f"reproduce: {name} differs: recorded {canonical.dumps(recorded.doc.get(name))}, "
            f"reproduced {canonical.dumps(rebuilt.get(name))}\n"
        )
    if files:
        total = len(set(recorded.published) | set(rebuilt.get("published") or {}))
        verb = "differs" if len(files) == 1 else "differ"
        out.write(f"reproduce: {len(files)} of {divergence.plural(total, 'file')} {verb} ({what}):\n")
        out.write("".join(line + "\n" for line in divergence.file_table(files, NAMES)))
        _explain(recorded, files, root, work, out)
    return ExitCode.BUILD_FAILED


def _explain(recorded: Recorded, files: list[divergence.FileDifference], root: Path, work: Path, out: TextIO) -> None:
    shown = 0
    for difference in files:
        if difference.recorded is None or difference.reproduced is None or shown == MAX_EXPLAINED:
            continue
        original = _recorded_bytes(recorded, difference.path, difference.recorded, work / "cas")
        if original is None:
            out.write(f"reproduce: {difference.path}: the recorded bytes are not on this machine (only their sha256)\n")
            continue
        out.write(diffreport.explain(difference.path, original, root / difference.path, names=NAMES, work=work))
        shown += 1


def _recorded_bytes(recorded: Recorded, path: str, sha256: str, scratch: Path) -> Path | None:
    """The file `path` as recorded: next to the manifest, or in the local CAS (copied to `scratch`)."""
    if recorded.file is not None and recorded.file.parent.parent.name == "out" and divergence.is_plain_path(path):
        beside = recorded.file.parents[2] / path
        if beside.is_file() and digest.of_file(beside) == sha256:
            return beside
    from enlist.store.local import LocalStore, cache_dir

    target = scratch / sha256
    return target if LocalStore(cache_dir()).fetch_file(sha256, str(target), executable=False) else None


def _say(err: TextIO, text: str) -> None:
    err.write(f"reproduce: {text}\n")
    err.flush()
