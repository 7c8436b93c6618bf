"""The rebuilder: for one action, decide whether its outputs are current, restore them from the cache, or run
it (L1; called on worker threads, so it touches only its own action and thread-safe ports).

`decide` computes the keys from content digests (the stat cache makes that cheap) and ends the action when it
can: up to date (same full key as the tree's record and outputs intact) or cached (outputs restored from the
store). Otherwise it returns a `Pending` and the builder calls `execute`, which runs the command, digests the
outputs, reads the depfile and records the trace in the store. A killed command's outputs are removed and
never cached.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from enlist.engine import depfile, keys, traces
from enlist.engine.ports import Execution, Executor, Files, Publisher, Store
from enlist.engine.table import RecordTable
from enlist.engine.verdict import Outcome, Reason, Record, Verdict, Why
from enlist.errors import EnlistError
from enlist.model.action import Action, ActionKind


class Pending(NamedTuple):
    """The action must run; `static` is its static key, `reason` why."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, unused
    static: str
    reason: Reason


class Ran(NamedTuple):
    """A command that exited; its outputs are not digested yet."""

    pending: Pending
    execution: Execution


class Rebuilder:
    """Decides and runs single actions with the ports it is given; holds no state of its own between calls."""

    __slots__ = (
        "actions",
        "clean",
        "executor",
        "files",
        "fingerprints",
        "normalise",
        "package_roots",
        "previous",
        "publisher",
        "read_cache",
        "root",
        "store",
    )

    def __init__(
        self,
        *,
        actions: Sequence[Action],
        fingerprints: Sequence[str],
        previous: RecordTable,
        files: Files,
        executor: Executor,
        publisher: Publisher,
        store: Store | None = None,
        read_cache: bool = True,
        clean: bool = False,
        root: str = "",
        package_roots: tuple[str, ...] = (),
        normalise: Callable[[str], str] = str,
    ) -> None:
        self.actions = actions
        self.fingerprints = fingerprints
        self.previous = previous
        self.files = files
        self.executor = executor
        self.publisher = publisher
        self.store = store
        self.read_cache = read_cache
        self.clean = clean  # -c: local outputs never count as up to date
        self.root = root
        self.package_roots = package_roots
        self.normalise = normalise

    def decide(self, i: int, why: Reason) -> Outcome | Pending:
        action, fp = self.actions[i], self.fingerprints[i]
        digests: list[str] = []
        for path in action.inputs:
            d = self.files.digest(path)
            if d is None:
                message = f"missing input {path} (no action produces it)"
                return Outcome(i, Verdict.FAILED, why, message=message)
            digests.append(d)
        static = keys.static_key(fp, digests)
        prev = self.previous.get(action.id)
        if not self.clean and prev is not None and prev.fingerprint == fp and prev.static == static:
            deps = self._dep_digests(prev.deps)
            if keys.full_key(static, deps) == prev.key:
                broken = self._broken_output(action, prev)
                if broken is None:
                    return Outcome(i, Verdict.UP_TO_DATE, self._unchanged(why), record=prev)
                reason = broken
            else:
                reason = Reason(Why.DEP, self._first_changed(prev.deps))
        elif self.clean:
            reason = Reason(Why.CLEAN)
        else:
            reason = self._explain(action, prev, fp)
        if self.read_cache and self.store is not None and action.kind is not ActionKind.PUBLISH:
            hit = self._restore(i, static, reason)
            if hit is not None:
                return hit
        return Pending(i, static, reason)

    def execute(self, pending: Pending) -> Outcome:
        """`run` and `complete` in one go."""
        ran = self.run(pending)
        return ran if isinstance(ran, Outcome) else self.complete(ran)

    def run(self, pending: Pending) -> Ran | Outcome:
        """Run the command (or publish, which ends here). The builder frees the action's slot as soon as
        this returns, and `complete` digests and stores the outputs while the next command runs."""
        action = self.actions[pending.index]
        if action.kind is ActionKind.PUBLISH:
            return self._publish(pending)
        return Ran(pending, self.executor.run(action))

    def complete(self, ran: Ran) -> Outcome:
        pending, run = ran.pending, ran.execution
        i, reason = pending.index, pending.reason
        action = self.actions[i]
        text = run.output.decode("utf-8", "replace")
        if run.killed:
            self._remove_outputs(action)
            return Outcome(i, Verdict.INTERRUPTED, Reason(Why.INTERRUPTED), output=text, seconds=run.seconds)
        if run.exit_code != 0:
            self._remove_outputs(action)
            code = run.exit_code
            return Outcome(i, Verdict.FAILED, reason, output=text, exit_code=code, seconds=run.seconds)
        digests: list[str] = []
        for path in action.outputs:
            d = self.files.produced(path)
            if d is None:
                self._remove_outputs(action)
                message = f"the command succeeded but did not write its output {path}"
                return Outcome(i, Verdict.FAILED, reason, output=text, exit_code=0, message=message)
            digests.append(d)
        try:
            deps = self._discovered(action)
        except EnlistError as e:
            self._remove_outputs(action)
            return Outcome(i, Verdict.FAILED, reason, output=text, exit_code=0, message=e.render())
        full = keys.full_key(pending.static, self._dep_digests(deps))
        record = Record(self.fingerprints[i], pending.static, full, deps, tuple(digests), run.seconds)
        warnings = self._remember(action, record, run.output)
        return Outcome(
            i,
            Verdict.RAN,
            reason,
            record=record,
            output=text,
            exit_code=0,
            seconds=run.seconds,
            warnings=warnings,
        )

    # -- deciding ------------------------------------------------------------------------------------------

    def _dep_digests(self, deps: Sequence[str]) -> list[tuple[str, str]]:
        return [(self.normalise(p), self.files.digest(p) or keys.MISSING) for p in deps]

    def _broken_output(self, action: Action, prev: Record) -> Reason | None:
        for path, want in zip(action.outputs, prev.outputs, strict=True):
            have = self.files.digest(path)
            if have is None:
                return Reason(Why.OUTPUT_MISSING, path)
            if have != want:
                return Reason(Why.OUTPUT_CHANGED, path)
        return None

    def _first_changed(self, paths: Sequence[str]) -> str:
        for path in paths:
            if self.files.digest(path) != self.files.previous_digest(path):
                return path
        return ""

    def _unchanged(self, why: Reason) -> Reason:
        if why.why is Why.UPSTREAM:
            return Reason(Why.EARLY_CUTOFF)
        return Reason(Why.CONTENT_UNCHANGED)

    def _explain(self, action: Action, prev: Record | None, fp: str) -> Reason:
        if prev is None:
            return Reason(Why.NEW)
        if prev.fingerprint != fp:
            return Reason(Why.COMMAND)
        return Reason(Why.INPUT, self._first_changed(action.inputs))

    # -- the cache -----------------------------------------------------------------------------------------

    def _restore(self, i: int, static: str, reason: Reason) -> Outcome | None:
        assert self.store is not None
        action = self.actions[i]
        try:
            deps: tuple[str, ...] = ()
            if action.depfile:
                found = traces.decode_deps(self.store.get_entry(static))
                if found is None:
                    return None
                deps = found
            full = keys.full_key(static, self._dep_digests(deps))
            trace = traces.decode_trace(self.store.get_entry(full))
            if trace is None or tuple(o.path for o in trace.outputs) != action.outputs:
                return None
            log = self.store.get_bytes(trace.log) if trace.log else b""
            if log is None:
                return None  # the entry is incomplete: a hit must replay the command's output too
            for out in trace.outputs:
                if not self.store.fetch_file(out.digest, self.files.absolute(out.path), out.executable):
                    return None
                self.files.restored(out.path, out.digest)
        except EnlistError:
            return None  # an unreadable cache is a miss; the action runs
        digests = tuple(o.digest for o in trace.outputs)
        record = Record(self.fingerprints[i], static, full, deps, digests, trace.seconds)
        text = log.decode("utf-8", "replace")
        return Outcome(i, Verdict.CACHED, reason, record=record, output=text, exit_code=0)

    def _remember(self, action: Action, record: Record, log: bytes) -> tuple[str, ...]:
        if self.store is None:
            return ()
        try:
            outputs = []
            for path, d in zip(action.outputs, record.outputs, strict=True):
                self.store.put_file(self.files.absolute(path), d)
                outputs.append(traces.Output(path, d, self.files.is_executable(path)))
            log_digest = self.store.put_bytes(log) if log else None
            if action.depfile:
                self.store.put_entry(record.static, traces.encode_deps(record.deps))
            trace = traces.Trace(tuple(outputs), log_digest, record.seconds)
            self.store.put_entry(record.key, traces.encode_trace(trace))
        except EnlistError as e:
            return (f"{action.id}: not stored in the action cache: {e.message}",)
        return ()

    # -- running -------------------------------------------------------------------------------------------

    def _discovered(self, action: Action) -> tuple[str, ...]:
        if not action.depfile:
            return ()
        text = self.files.read_text(action.depfile)
        if text is None:
            raise EnlistError(f"the command did not write its depfile {action.depfile}")
        found = depfile.parse(text, action.depfile)
        return depfile.normalise(
            found, root=self.root, cwd=action.cwd, package_roots=self.package_roots, exclude=action.inputs
        )

    def _publish(self, pending: Pending) -> Outcome:
        i = pending.index
        action = self.actions[i]
        sources = [self.files.digest(src) for src, _ in action.publish]
        try:
            self.publisher.publish(action.publish)
        except EnlistError as e:
            return Outcome(i, Verdict.FAILED, pending.reason, message=e.render())
        for (_, dest), d in zip(action.publish, sources, strict=True):
            if d is not None:
                self.files.restored(dest, d)
        digests = tuple(self.files.digest(out) or keys.MISSING for out in action.outputs)
        full = keys.full_key(pending.static, [])
        record = Record(self.fingerprints[i], pending.static, full, (), digests, 0.0)
        return Outcome(i, Verdict.RAN, pending.reason, record=record)

    def _remove_outputs(self, action: Action) -> None:
        for path in action.outputs:
            self.files.remove(path)
