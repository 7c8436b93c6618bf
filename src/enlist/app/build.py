"""One `enlist build`, wired (L3): lock the tree, get a plan (reused or new), run the builder with the real
adapters, write the logs, remember the tree's state and, when everything is current, the no-op record.

    request = BuildRequest(root=..., plan_request=PlanRequest(...), options=Options(jobs=8), ...)
    code = run_build(request, planner, console)     # 0, 1 (an action failed) or 130 (interrupted);
                                                    # EnlistError for the rest

The plan is reused, without calling the planner, when the `PlanRequest` is the one the tree's state was
planned for and none of the plan's source files changed content; otherwise the planner runs, and the files the
old plan produced that the new one does not are deleted (a removed source's object, a dropped publish pair).

After a build that was killed (`TreeLock.unclean`), the temporary files its interrupted writes left are swept
first. A build whose actions failed for lack of disk space raises `EnvironmentFault` (exit 3) once its logs
are written: a full disk is the machine's fault, not the code's (`disk_full`).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from enlist import __version__
from enlist.engine import dag as dagmod
from enlist.engine import keys
from enlist.engine.builder import Builder, BuildResult, Options, watched
from enlist.engine.events import Event
from enlist.engine.rebuilder import Rebuilder
from enlist.engine.table import ActionTable, RecordTable
from enlist.errors import EnlistError, EnvironmentFault, InputError
from enlist.execute import SubprocessExecutor, ThreadWorkers
from enlist.model.plan import Planner, PlanRequest
from enlist.publish import TreePublisher, remove_stale
from enlist.store import noop, state
from enlist.store.files import TreeFiles
from enlist.store.local import LocalStore, cache_dir
from enlist.store.lock import TreeLock


class Console(Protocol):
    def notice(self, text: str) -> None: ...

    def __call__(self, event: Event) -> None: ...

    def finish(self, summary: dict[str, Any]) -> None: ...


class BuildRequest(NamedTuple):
    root: Path
    plan_request: PlanRequest
    options: Options
    read_cache: bool = True  # False with --no-cache (which also implies a clean build)
    explain: bool = False
    dirs: tuple[str, ...] = ()  # enlistment-relative, as `noop.normalise_dirs` gives them
    env_names: tuple[str, ...] = ()  # the allowed variables whose values are part of the build's identity
    cache: Path | None = None  # default: `enlist.store.local.cache_dir()`

    @property
    def config(self) -> str:
        return self.plan_request.config

    def identity(self) -> tuple[object, ...]:
        values = dict(self.plan_request.env)
        env = tuple((name, values.get(name)) for name in self.env_names)
        max_pass = None if self.options.max_pass is None else int(self.options.max_pass)
        return noop.identity(
            __version__, str(self.root), self.config, self.plan_request.strict, self.dirs, max_pass, env
        )


AfterBuild = Callable[["state.PlanState", BuildResult], None]
NO_SPACE = ("No space left on device", "Disk quota exceeded", "File too large", "NoSpaceLeft")  # C locale, zig
LOW_SPACE = 64 << 20  # bytes: below this, a failed build is blamed on the disk


def run_build(
    request: BuildRequest, planner: Planner, console: Console, *, after: AfterBuild | None = None
) -> int:
    """One build (see the module docstring). `after` runs once the tree's state is saved, whatever the
    result, still under the tree's lock: the place for what every build refreshes (compile_commands.json,
    the manifest). It does not run when a no-op check answers alone. An error it raises is raised once the
    logs are written, and the build leaves no no-op record."""
    from enlist.console.logs import LogFiles, noop_logs, write_failure
    from enlist.console.summary import exit_code, noop_summary, summarise

    started = time.monotonic()
    directory = state.state_dir(request.root, request.config)
    with TreeLock(directory, console.notice) as lock:
        scan = noop.scan_for(request.identity(), str(directory))
        state.forget_noop(directory)
        previous = state.load(directory)
        files = TreeFiles(request.root, previous.files if previous else {})
        try:
            plan = _plan(request, planner, previous, files)
        except EnlistError as e:
            write_failure(request.root / "out" / request.config, request.config, e)
            raise
        _check_dirs(request.dirs, plan.actions.projects)
        if lock.unclean:  # the last build was killed: its interrupted writes may have left temporary files
            remove_leftovers(request.root, directory, [plan, *([previous.plan] if previous else [])])
        touched: set[int] | None = None
        if previous is None or plan is not previous.plan:
            plan = state.save_plan(directory, plan)
            scan = None
        elif scan is not None:
            files.seed(scan.paths, scan.sigs, scan.positions)  # the no-op check already stat'ed everything
            touched = scan.touched(plan.id)
        logs = LogFiles(request.root / "out" / request.config, plan.warnings)

        def report(event: Event) -> None:
            logs(event)
            console(event)

        records = previous.records if previous else RecordTable()
        result = _run(request, plan, records, files, report, lock.fd, touched)
        # The bookkeeping after the actions may fail too (a full disk fails every write): its first error is
        # reported once the logs are complete, and a build that failed for lack of space says so first.
        failure: EnlistError | OSError | None = None
        try:
            _remember(directory, plan, previous, files, result.records)
            if after is not None:
                after(plan, result)
        except (EnlistError, OSError) as e:
            failure = e
        summary = summarise(
            result,
            config=request.config,
            seconds=time.monotonic() - started,
            jobs=request.options.jobs,
            warnings=logs.warnings,
        )
        try:
            logs.finish(summary)
        except OSError as e:
            failure = failure or e
        console.finish(summary)
        if result.failed:
            full = disk_full(result, (request.root, request.cache or cache_dir()))
            if full is not None:
                raise full from failure
        if failure is not None:
            raise failure
        if result.ok and request.plan_request.build_number is None:  # an official build is no dev build's no-op
            texts = noop_logs(noop_summary(summary, noop.SECONDS_TOKEN), plan.warnings)
            state.save_noop(directory, *_noop_body(request, plan, result, files, texts, records, scan))
        return exit_code(result)


def _remember(
    directory: Path, plan: state.PlanState, previous: state.TreeState | None, files: TreeFiles, records: RecordTable
) -> None:
    """Save the tree's state: a journal frame of what changed when the plan is the one loaded, else all of it."""
    if previous is not None and previous.journal is not None and plan is previous.plan:
        changes = (files.changes(), state.changed_rows(previous.records, records))
        if state.append(directory, plan, previous.journal, changes):
            return
    state.save(directory, state.TreeState(plan, files.entries(), records))


def _check_dirs(dirs: tuple[str, ...], projects: Sequence[str]) -> None:
    """Every directory named on the command line holds at least one project of the plan."""
    present = set(projects)
    for d in dirs:
        if d and not any(p == d or p.startswith(d + "/") for p in present):
            raise InputError(
                f"{d}: no project of this enlistment is in this directory",
                hint="a project is a directory with a sources file, reached from the root dirs file",
            )


def _plan(
    request: BuildRequest, planner: Planner, previous: state.TreeState | None, files: TreeFiles
) -> state.PlanState:
    if previous is not None and previous.plan.request == request.plan_request.identity():
        sources = previous.plan.sources
        if all(not files.changed(p) or files.digest(p) == files.previous_digest(p) for p in sources):
            return previous.plan
    plan = planner(request.plan_request)
    for source in plan.sources:
        files.digest(source)  # remembered, so that the next build can trust the plan without re-reading them
    table = ActionTable.of(plan.actions)
    dag = dagmod.build(table)
    normalise = keys.normaliser(plan.roots)
    fingerprints = tuple(keys.fingerprint(a, normalise) for a in plan.actions)
    if previous is not None:
        now = {out for outs in table.outputs for out in outs}
        remove_stale(request.root, {out for outs in previous.plan.actions.outputs for out in outs} - now)
    return state.PlanState(
        plan.config,
        dag,
        plan.roots,
        plan.sources,
        plan.warnings,
        fingerprints,
        request.plan_request.identity(),
    )


def _run(
    request: BuildRequest,
    plan: state.PlanState,
    records: RecordTable,
    files: TreeFiles,
    report: Callable[[Event], None],
    lock_fd: int,
    touched: set[int] | None = None,
) -> BuildResult:
    options = request.options
    clean = options.clean or not request.read_cache
    rebuilder = Rebuilder(
        actions=plan.actions,
        fingerprints=plan.fingerprints,
        previous=records,
        files=files,
        executor=SubprocessExecutor(request.root, inherit=(lock_fd,)),
        publisher=TreePublisher(request.root),
        store=LocalStore(request.cache or cache_dir()),
        read_cache=request.read_cache,
        clean=clean,
        root=str(request.root),
        package_roots=tuple(p for p, _ in plan.roots.packages),
        normalise=keys.normaliser(plan.roots),
    )
    workers: ThreadWorkers[Any] = ThreadWorkers(options.jobs + 2)  # commands, plus two for bookkeeping
    builder = Builder(rebuilder, workers, report)
    try:
        with _interrupts(builder.interrupt):
            return builder.run(plan.dag, options._replace(clean=clean), config=request.config, touched=touched)
    finally:
        workers.close()


def disk_full(result: BuildResult, places: tuple[Path, ...]) -> EnvironmentFault | None:
    """The environment error to report when the build's failures come from a full disk: a failed command
    said so (in the C locale actions run in), was killed by SIGXFSZ, one of `places` (the enlistment, the
    cache) has less than `LOW_SPACE` left, or the build runs under a file size limit (`ulimit -f`). Linkers
    that map their output die without a word when the disk fills, hence the other looks."""
    failed = [result.outcomes[i] for i in result.failed]
    said = [o for o in failed if o.exit_code == -signal.SIGXFSZ or any(t in o.output + o.message for t in NO_SPACE)]
    low = sorted((free, str(p)) for p in places if (free := _free_bytes(p)) is not None and free < LOW_SPACE)
    limit = _file_size_limit()
    if not said and not low and limit is None:
        return None
    first = (said or failed)[0]
    label = result.dag.actions[first.index].label
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    if low:
        why = f"{low[0][0]} bytes free in {low[0][1]}"
    elif limit is not None:
        why = f"files are limited to {limit} bytes by `ulimit -f`"
    else:
        why = "no space left on device"
    return EnvironmentFault(
        f"the build failed for lack of disk space ({why}): {label} failed{more}",
        hint="free disk space in the enlistment or the cache (ENLIST_CACHE) and build again; the outputs of the "
        "failed actions were removed and none of them was cached",
    )


def _file_size_limit() -> int | None:
    import resource

    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return None if limit == resource.RLIM_INFINITY else limit


def _free_bytes(path: Path) -> int | None:
    try:
        st = os.statvfs(path)
    except OSError:
        return None
    return st.f_bavail * st.f_frsize


def remove_leftovers(root: Path, directory: Path, plans: list[state.PlanState]) -> None:
    """Delete the temporary files that a killed build left where it writes: next to the outputs of these
    plans (objects, published files, test logs), in `out/<config>/`, its state directory and the root
    (compile_commands.json). Nothing there is trusted, but nothing half-written may stay in the tree."""
    from enlist import fsio  # here: it brings tempfile, which a small build does not need

    dirs = {directory, directory.parent, directory.parent.parent / ".enlist"}
    for plan in plans:
        dirs.update((root / out).parent for outs in plan.actions.outputs for out in outs if not out.startswith("/"))
    fsio.remove_leftovers(sorted(dirs))
    fsio.remove_leftovers([root], prefix=".compile_commands.json.")


@contextmanager
def _interrupts(handler: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM stop the build cleanly instead of unwinding the stack mid-bookkeeping."""

    def on_signal(signum: int, frame: object) -> None:
        handler()

    saved = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, previous in saved.items():
            signal.signal(s, previous)


def _noop_body(
    request: BuildRequest,
    plan: state.PlanState,
    result: BuildResult,
    files: TreeFiles,
    logs: dict[str, str],
    before: RecordTable,
    scan: noop.Scan | None,
) -> tuple[tuple[Any, ...], noop.Watch | None]:
    """The no-op record's body, and the watch file to write first (None: the scan's is still right)."""
    if scan is not None and _same_deps(result, before):  # `run_build` keeps `scan` only when it seeded `files`
        # The no-op check's scan covered this very plan and selection, and no action that ran discovered
        # other headers: the files are those of the scan, in its order, so their signatures are patched, and
        # the same actions read them.
        if scan.readers is not None and scan.readers[0] == plan.id:
            body = (__version__, request.identity(), request.env_names, scan.watch, sys.byteorder)
            return (*body, files.signatures(scan.paths), logs), None
        paths = scan.paths
    else:
        used = watched(plan.actions, result.selected, result.records)
        used.update(plan.sources)
        paths = tuple(sorted(used))
    watch = (time.time_ns(), paths, _readers(plan, result, paths))
    body = (__version__, request.identity(), request.env_names, watch[0], sys.byteorder)
    return (*body, files.signatures(paths), logs), watch


def _readers(plan: state.PlanState, result: BuildResult, paths: Sequence[str]) -> noop.Readers:
    """The reverse index of `enlist.store.noop.Scan.touched`: for each path, the selected actions whose
    declared inputs, discovered dependencies or outputs name it."""
    from array import array

    position = {p: k for k, p in enumerate(paths)}
    lists: list[list[int]] = [[] for _ in paths]
    table, rows = plan.actions, result.records.rows
    for i in sorted(result.selected):
        mine = set(table.inputs[i])
        mine.update(table.outputs[i])
        row = rows.get(table.ids[i])
        if row is not None:
            mine.update(row[1])
        for p in mine:
            k = position.get(p)
            if k is not None:
                lists[k].append(i)
    offsets, flat = array("I", [0]), array("I")
    for found in lists:
        flat.extend(found)
        offsets.append(len(flat))
    packed_offsets, packed_flat = offsets.tobytes(), flat.tobytes()
    crc = zlib.crc32(packed_flat, zlib.crc32(packed_offsets))
    return (plan.id, sys.byteorder, packed_offsets, packed_flat, crc)


def _same_deps(result: BuildResult, before: RecordTable) -> bool:
    """Whether every action that ran kept the discovered dependencies it had before this build."""
    ids, now = result.dag.actions.ids, result.records.rows
    for i, outcome in result.outcomes.items():
        if outcome.record is None:
            continue
        old = before.rows.get(ids[i])
        if old is None or old[1] != now[ids[i]][1]:
            return False
    return True
