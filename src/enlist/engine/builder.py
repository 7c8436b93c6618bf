"""The builder: one build from a plan to a `BuildResult` (L1; all I/O goes through `enlist.engine.ports`).

1. Graph: number the actions, link producers to consumers (`enlist.engine.dag`), select what was asked for.
2. Survey: walk the selection in topological order and keep as *todo* every action that is new, whose command
   changed, one of whose files (declared inputs, discovered deps, outputs) has a new stat signature, or that
   depends on a todo action. Everything else is up to date without hashing a byte: with nothing todo, that is
   the whole build.
3. Run: the scheduler hands out todo actions, critical path first, to at most `jobs` workers. A worker
   first decides (keys from contents: up to date, early cutoff or cache hit end here), and only an action
   that must run gets a slot (`n>`) and an `ActionStarted` event. Failures skip their dependants; Ctrl-C
   cancels the executor, waits for the workers, and reports the killed actions.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Collection, Iterable, Sequence
from itertools import chain
from typing import NamedTuple

from enlist.engine import dag as dagmod
from enlist.engine.events import (
    ActionFinished,
    ActionSkipped,
    ActionStarted,
    BuildInterrupted,
    BuildStarted,
    Reporter,
)
from enlist.engine.ports import Files, Workers
from enlist.engine.rebuilder import Pending, Ran, Rebuilder
from enlist.engine.table import ActionTable, RecordTable
from enlist.engine.verdict import Outcome, Reason, Record, Verdict, Why
from enlist.model.action import ActionKind
from enlist.model.passes import Pass

# Cost estimates (seconds) for actions that never ran here; measured durations replace them.
DEFAULT_COST = {ActionKind.LINK.value: 1.0, ActionKind.TEST.value: 1.0, ActionKind.PUBLISH.value: 0.01}


class Options(NamedTuple):
    jobs: int = 1
    fail_fast: bool = False
    clean: bool = False  # -c: ignore local outputs, may still hit the cache
    projects: tuple[str, ...] = ()  # DIRS: enlistment-relative project directories
    max_pass: Pass | None = None


class BuildResult(NamedTuple):
    dag: dagmod.Dag
    selected: frozenset[int]
    outcomes: dict[int, Outcome]  # every todo action that finished, by number
    skipped: dict[int, int]  # action -> the failed action it needed
    unstarted: tuple[int, ...]  # todo actions left alone by --fail-fast or an interrupt
    survey: dict[int, Reason]  # todo actions and why the survey picked them
    records: RecordTable  # what the tree remembers after this build, by action id
    interrupted: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> list[int]:
        return sorted(i for i, o in self.outcomes.items() if o.verdict is Verdict.FAILED)

    @property
    def ok(self) -> bool:
        return not self.interrupted and not self.failed and not self.skipped and not self.unstarted


def survey(
    dag: dagmod.Dag,
    selected: frozenset[int],
    fingerprints: Sequence[str],
    previous: RecordTable,
    files: Files,
    *,
    clean: bool = False,
) -> dict[int, Reason]:
    """The todo actions of step 2, each with the reason it may need work."""
    table = dag.actions
    if clean:
        return {i: Reason(Why.CLEAN) for i in dag.order if i in selected}
    changed = files.scanned()
    if changed is None:
        changed = files.changed_among(watched(table, selected, previous))
    inputs, outputs = table.inputs, table.outputs
    order = dag.order if len(selected) == len(table) else [i for i in dag.order if i in selected]
    return _judge(order, dag, fingerprints, previous, changed, lambda i: (inputs[i], outputs[i]))


def survey_touched(
    dag: dagmod.Dag,
    selected: frozenset[int],
    fingerprints: Sequence[str],
    previous: RecordTable,
    files: Files,
    touched: Collection[int],
) -> dict[int, Reason]:
    """`survey` after a scan of every watched file, knowing which actions touch the files that changed.

    The last complete build of this plan and selection left every selected action with a record of this
    fingerprint, and the others' files did not change: `survey` would find nothing to do for an action
    that is neither touched nor downstream of one. So only those are looked at, in the same order and with
    the same reasons, without a pass over 10,000 actions."""
    changed = files.scanned() or set()
    dependants = dag.dependants
    candidates = {i for i in touched if i in selected}
    stack = list(candidates)
    while stack:
        for j in dependants[stack.pop()]:
            if j not in candidates and j in selected:
                candidates.add(j)
                stack.append(j)
    table = dag.actions
    order = [i for i in dag.order if i in candidates] if candidates else []
    return _judge(order, dag, fingerprints, previous, changed, lambda i: (table[i].inputs, table[i].outputs))


def _judge(
    order: Iterable[int],
    dag: dagmod.Dag,
    fingerprints: Sequence[str],
    previous: RecordTable,
    changed: set[str],
    paths: Callable[[int], tuple[tuple[str, ...], tuple[str, ...]]],
) -> dict[int, Reason]:
    """The todo actions among `order` (topological), each with why: downstream of one, new, another command,
    or a file it reads, depends on or writes changed. `paths(i)` gives an action's inputs and outputs."""
    todo: dict[int, Reason] = {}
    rows, ids, deps = previous.rows, dag.actions.ids, dag.deps
    for i in order:
        if todo and not todo.keys().isdisjoint(deps[i]):
            todo[i] = Reason(Why.UPSTREAM, ids[next(d for d in deps[i] if d in todo)])
            continue
        row = rows.get(ids[i])
        if row is None:
            todo[i] = Reason(Why.NEW)
        elif row[0] != fingerprints[i]:
            todo[i] = Reason(Why.COMMAND)
        elif changed:
            inputs, outputs = paths(i)
            for group in (inputs, row[1], outputs):
                if not changed.isdisjoint(group):
                    todo[i] = Reason(Why.TOUCHED, next(p for p in group if p in changed))
                    break
    return todo


def watched(table: ActionTable, selected: Collection[int], records: RecordTable) -> set[str]:
    """Every file the selected actions depend on or write: declared inputs, discovered deps, outputs."""
    rows = records.rows
    if len(selected) == len(table):
        paths = set(chain.from_iterable(table.inputs))
        paths.update(chain.from_iterable(table.outputs))
        found = (rows.get(action_id) for action_id in table.ids)  # not rows.values(): rows of gone actions
        paths.update(chain.from_iterable(row[1] for row in found if row is not None))
        return paths
    paths = set()
    for i in selected:
        paths.update(table.inputs[i])
        paths.update(table.outputs[i])
        row = rows.get(table.ids[i])
        if row is not None:
            paths.update(row[1])
    return paths


class Builder:
    def __init__(
        self, rebuilder: Rebuilder, workers: Workers[tuple[str, Outcome | Pending | Ran]], report: Reporter
    ) -> None:
        self._rb = rebuilder
        self._workers = workers
        self._report = report
        self._interrupted = False

    def interrupt(self) -> None:
        """Stop the build from a signal handler: kill running commands, start nothing new. The loop then
        drains its workers and `run` returns a result marked interrupted."""
        self._interrupted = True
        self._rb.executor.cancel()

    @property
    def interrupted(self) -> bool:
        return self._interrupted

    def run(
        self, dag: dagmod.Dag, options: Options, *, config: str = "", touched: Collection[int] | None = None
    ) -> BuildResult:
        """`touched`: when the files the selection watches were all stat'ed since the last complete build of
        this plan and selection (`Files.scanned`), the actions that read, depend on or write the ones that
        changed; the survey then looks at them and their dependants only."""
        selected = dagmod.select(dag, options.projects, options.max_pass)
        rb = self._rb
        if touched is not None and not options.clean and rb.files.scanned() is not None:
            todo = survey_touched(dag, selected, rb.fingerprints, rb.previous, rb.files, touched)
        else:
            todo = survey(dag, selected, rb.fingerprints, rb.previous, rb.files, clean=options.clean)
        priority = dagmod.priorities(dag, lambda i: self._cost(dag, i), among=todo.keys())
        run = _Run(dag, todo, priority, options, self)
        todo_actions = tuple(dag.actions[i] for i in todo)
        self._report(BuildStarted(config, len(selected), len(todo), options.jobs, todo_actions))
        run.loop()
        new: dict[str, Record] = {}
        warnings: list[str] = []
        for outcome in run.outcomes.values():
            if outcome.record is not None:
                new[dag.actions.ids[outcome.index]] = outcome.record
            warnings += outcome.warnings
        records = self._rb.previous.updated(new)
        return BuildResult(
            dag=dag,
            selected=selected,
            outcomes=run.outcomes,
            skipped=dict(run.scheduler.skipped),
            unstarted=tuple(i for i in run.scheduler.unstarted() if i not in run.outcomes),
            survey=todo,
            records=records,
            interrupted=run.interrupted,
            warnings=tuple(warnings),
        )

    def _cost(self, dag: dagmod.Dag, i: int) -> float:
        action_id = dag.actions.ids[i]
        if action_id in self._rb.previous:
            seconds = self._rb.previous[action_id].seconds
            if seconds > 0:
                return seconds
        return DEFAULT_COST.get(dag.actions.kinds[i], 0.5)


class _Run:
    """The state of one run of the loop.

    Three kinds of job go to the workers: *decide* (keys, up-to-date check, cache restore), *run* (the
    command itself, holding one of the `jobs` slots) and *complete* (digest and store the outputs). A slot is
    freed as soon as its command exits, and decisions are made ahead for the ready actions, so the next
    command starts the moment one ends: the slots never wait for Python's bookkeeping.
    """

    def __init__(
        self,
        dag: dagmod.Dag,
        todo: dict[int, Reason],
        priority: list[float],
        options: Options,
        builder: Builder,
    ) -> None:
        from enlist.engine.scheduler import Scheduler

        self.dag = dag
        self.todo = todo
        self.priority = priority
        self.jobs = max(1, options.jobs)
        self.scheduler = Scheduler(dag, todo.keys(), priority, fail_fast=options.fail_fast)
        self.builder = builder
        self.rb = builder._rb
        self.workers = builder._workers
        self.report = builder._report
        self.deciding = 0
        self.running = 0
        self.completing = 0
        self.decided: list[tuple[float, int, Pending]] = []  # ready to run, highest priority first
        self.free_slots = list(range(self.jobs, 0, -1))
        self.slot_of: dict[int, int] = {}
        self.outcomes: dict[int, Outcome] = {}
        self.interrupted = False

    @property
    def inflight(self) -> int:
        return self.deciding + self.running + self.completing

    def loop(self) -> None:
        try:
            while True:
                self._fill()
                if self.inflight == 0:
                    break
                self._handle(self.workers.next_done())
        except KeyboardInterrupt:
            self.builder.interrupt()
        if self.builder.interrupted:
            self._drain()

    def _fill(self) -> None:
        if self.builder.interrupted:
            return
        while self.running < self.jobs and self.decided:
            _, _, pending = heapq.heappop(self.decided)
            self._start(pending)
        while self.deciding + len(self.decided) < self.jobs:
            i = self.scheduler.next()
            if i is None:
                return
            self.deciding += 1
            self.workers.submit(lambda i=i: ("decided", self.rb.decide(i, self.todo[i])))  # type: ignore[misc]

    def _start(self, pending: Pending) -> None:
        if self.scheduler.stopped:
            self.scheduler.cancel(pending.index)  # decided, but its command never started
            return
        slot = self.free_slots.pop()
        self.slot_of[pending.index] = slot
        self.running += 1
        self.report(ActionStarted(self.dag.actions[pending.index], slot, pending.reason))
        self.workers.submit(lambda p=pending: ("ran", self.rb.run(p)))  # type: ignore[misc]

    def _handle(self, done: tuple[str, Outcome | Pending | Ran]) -> None:
        stage, value = done
        if stage == "decided":
            self.deciding -= 1
        elif stage == "ran":
            self.running -= 1
            self._free_slot(value.pending.index if isinstance(value, Ran) else value.index)
        else:
            self.completing -= 1
        if isinstance(value, Pending):
            if self.builder.interrupted:
                self.scheduler.cancel(value.index)
            else:
                heapq.heappush(self.decided, (-self.priority[value.index], value.index, value))
        elif isinstance(value, Ran):
            if value.execution.exit_code != 0 or value.execution.killed:
                self._finish(
                    self.rb.complete(value)
                )  # cheap, and --fail-fast must know before the next start
                return
            self.completing += 1
            self.workers.submit(lambda r=value: ("completed", self.rb.complete(r)))  # type: ignore[misc]
        else:
            self._finish(value)

    def _free_slot(self, i: int) -> None:
        slot = self.slot_of.get(i, 0)
        if slot:
            self.free_slots.append(slot)
            self.free_slots.sort(reverse=True)

    def _finish(self, outcome: Outcome) -> None:
        i = outcome.index
        slot = self.slot_of.pop(i, 0)  # the slot that ran it names it in the output, even once freed
        self.outcomes[i] = outcome
        if outcome.verdict is Verdict.INTERRUPTED:
            self.scheduler.cancel(i)
            self.report(ActionFinished(self.dag.actions[i], slot, outcome))
            return
        skipped = self.scheduler.finish(i, outcome.verdict.ok)
        self.report(ActionFinished(self.dag.actions[i], slot, outcome))
        for j in skipped:
            self.report(ActionSkipped(self.dag.actions[j], self.dag.actions[i]))

    def _drain(self) -> None:
        self.interrupted = True
        self.scheduler.stop()
        for _, _, pending in self.decided:
            self.scheduler.cancel(pending.index)
        self.decided.clear()
        while self.inflight:
            try:
                self._handle(self.workers.next_done())
            except KeyboardInterrupt:
                continue  # a second Ctrl-C: children are already being killed; keep cleaning up
        killed = sorted(i for i, o in self.outcomes.items() if o.verdict is Verdict.INTERRUPTED)
        self.report(BuildInterrupted(tuple(self.dag.actions[i] for i in killed)))
