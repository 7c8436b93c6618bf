"""The builder's decisions, with fake files, a fake executor and inline workers (pure logic: the real adapters
are tested end to end in test_engine_build.py)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from enlist.engine import dag as dagmod
from enlist.engine import keys
from enlist.engine.builder import Builder, BuildResult, Options, survey, survey_touched
from enlist.engine.events import ActionFinished, ActionSkipped, ActionStarted, Event
from enlist.engine.ports import Execution
from enlist.engine.rebuilder import Rebuilder
from enlist.engine.table import ActionTable, RecordTable
from enlist.errors import EnvironmentFault
from enlist.model.action import Action, ActionKind, PathRoots
from enlist.model.project import Pass


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class FakeFiles:
    """Files as bytes with a stat signature that changes on every write (a touch changes it too)."""

    data: dict[str, bytes] = field(default_factory=dict)
    sig: dict[str, int] = field(default_factory=dict)
    known: dict[str, tuple[int, str]] = field(default_factory=dict)  # the last build's stat cache
    clock: int = 0

    def write(self, path: str, data: bytes) -> None:
        self.clock += 1
        self.data[path], self.sig[path] = data, self.clock

    def settle(self) -> None:
        """What saving the stat cache at the end of a build does."""
        self.known = {p: (self.sig[p], sha(d)) for p, d in self.data.items()}

    def absolute(self, path: str) -> str:
        return "/fake/" + path

    def changed(self, path: str) -> bool:
        entry = self.known.get(path)
        return path not in self.data or entry is None or entry[0] != self.sig[path]

    def scanned(self) -> set[str] | None:
        return None

    def changed_among(self, paths: Iterable[str]) -> set[str]:
        return {p for p in paths if self.changed(p)}

    def digest(self, path: str) -> str | None:
        return sha(self.data[path]) if path in self.data else None

    def previous_digest(self, path: str) -> str | None:
        entry = self.known.get(path)
        return entry[1] if entry else None

    def produced(self, path: str) -> str | None:
        return self.digest(path)

    def restored(self, path: str, digest: str) -> None:
        pass

    def is_executable(self, path: str) -> bool:
        return False

    def read_text(self, path: str) -> str | None:
        return self.data[path].decode() if path in self.data else None

    def remove(self, path: str) -> None:
        self.data.pop(path, None)


@dataclass
class FakeStore:
    entries: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    files: FakeFiles | None = None

    def get_entry(self, key: str) -> bytes | None:
        return self.entries.get(key)

    def put_entry(self, key: str, data: bytes) -> None:
        self.entries[key] = data

    def put_file(self, path: str, digest: str) -> None:
        assert self.files is not None
        self.blobs[digest] = self.files.data[path.removeprefix("/fake/")]

    def put_bytes(self, data: bytes) -> str:
        self.blobs[sha(data)] = data
        return sha(data)

    def get_bytes(self, digest: str) -> bytes | None:
        return self.blobs.get(digest)

    def fetch_file(self, digest: str, path: str, executable: bool) -> bool:
        assert self.files is not None
        if digest not in self.blobs:
            return False
        self.files.write(path.removeprefix("/fake/"), self.blobs[digest])
        return True


class BrokenStore(FakeStore):
    def put_entry(self, key: str, data: bytes) -> None:
        raise EnvironmentFault("disk full")


@dataclass
class FakeExecutor:
    """Runs an action by computing its outputs from its inputs with `rules[action id]`."""

    files: FakeFiles
    rules: dict[str, Callable[[list[bytes]], bytes | None]]
    ran: list[str] = field(default_factory=list)
    on_run: Callable[[str], None] | None = None

    def run(self, action: Action) -> Execution:
        self.ran.append(action.id)
        if self.on_run:
            self.on_run(action.id)
        out = self.rules[action.id]([self.files.data[p] for p in action.inputs])
        if out is None:
            return Execution(1, b"error: it failed\n", 0.1)
        for path in action.outputs:
            self.files.write(path, out)
        return Execution(0, b"", 0.1)

    def cancel(self) -> None:
        pass


class InlineWorkers:
    def __init__(self) -> None:
        self.done: list[object] = []

    def submit(self, job: Callable[[], object]) -> None:
        self.done.append(job())

    def next_done(self) -> object:
        return self.done.pop(0)


class NoPublisher:
    def publish(self, pairs: Sequence[tuple[str, str]]) -> None:
        raise AssertionError("no publish actions here")


def act(name: str, inputs: tuple[str, ...], output: str) -> Action:
    return Action(
        id=name,
        kind=ActionKind.GENERATE,
        project=name,
        pass_=Pass.PASS1,
        argv=("tool", name),
        inputs=inputs,
        outputs=(output,),
    )


class World:
    """src/a.txt -> upper -> out/A; out/A -> count -> out/n; src/b.txt -> copy -> out/B (independent)."""

    def __init__(self) -> None:
        self.files = FakeFiles()
        self.files.write("src/a.txt", b"hello")
        self.files.write("src/b.txt", b"other")
        self.actions = [
            act("upper", ("src/a.txt",), "out/A"),
            act("count", ("out/A",), "out/n"),
            act("copy", ("src/b.txt",), "out/B"),
        ]
        self.rules: dict[str, Callable[[list[bytes]], bytes | None]] = {
            "upper": lambda ins: ins[0].upper().split(b"#")[0],
            "count": lambda ins: str(len(ins[0])).encode(),
            "copy": lambda ins: ins[0],
        }
        self.store = FakeStore(files=self.files)
        self.records = RecordTable()
        self.events: list[Event] = []
        self.executor = FakeExecutor(self.files, self.rules)

    def build(
        self,
        *,
        clean: bool = False,
        store: FakeStore | None = None,
        fail_fast: bool = False,
        interrupt_on: str | None = None,
    ) -> BuildResult:
        table = ActionTable.of(self.actions)
        norm = keys.normaliser(PathRoots("/fake"))
        rb = Rebuilder(
            actions=table,
            fingerprints=[keys.fingerprint(a, norm) for a in self.actions],
            previous=self.records,
            files=self.files,
            executor=self.executor,
            publisher=NoPublisher(),
            store=store or self.store,
            clean=clean,
            root="/fake",
        )
        builder = Builder(rb, InlineWorkers(), self.events.append)  # type: ignore[arg-type]
        self.executor.ran = []
        self.executor.on_run = lambda i: builder.interrupt() if i == interrupt_on else None
        self.events.clear()
        result = builder.run(dagmod.build(table), Options(jobs=1, fail_fast=fail_fast, clean=clean))
        self.records = result.records
        self.files.settle()
        return result

    def verdicts(self) -> dict[str, str]:
        return {
            e.action.id: f"{e.outcome.verdict.value}: {e.outcome.reason}"
            for e in self.events
            if isinstance(e, ActionFinished)
        }


def test_first_build_runs_everything_then_nothing() -> None:
    w = World()
    result = w.build()
    assert result.ok
    assert w.executor.ran[0] == "upper"  # critical path first: upper's chain is longer
    assert sorted(w.executor.ran) == ["copy", "count", "upper"]
    assert w.files.data["out/n"] == b"5"
    assert w.build().survey == {}
    assert w.executor.ran == []


def test_changed_input_with_identical_output_stops_at_early_cutoff() -> None:
    w = World()
    w.build()
    w.files.write("src/a.txt", b"hello#comment")  # upper() drops everything after '#'
    w.build()
    assert w.executor.ran == ["upper"]
    assert w.verdicts() == {
        "upper": "ran: input changed: src/a.txt",
        "count": "up to date: its inputs were rebuilt with identical contents (early cutoff)",
    }


def test_touched_file_with_the_same_content_runs_nothing() -> None:
    w = World()
    w.build()
    w.files.write("src/b.txt", b"other")
    w.build()
    assert w.executor.ran == []
    assert w.verdicts() == {"copy": "up to date: files were touched but their contents are unchanged"}


def test_failure_skips_dependants_only() -> None:
    w = World()
    w.rules["upper"] = lambda ins: None
    result = w.build()
    assert not result.ok
    assert [w.actions[i].id for i in result.failed] == ["upper"]
    assert {w.actions[i].id: w.actions[c].id for i, c in result.skipped.items()} == {"count": "upper"}
    assert [e.action.id for e in w.events if isinstance(e, ActionSkipped)] == ["count"]
    assert w.files.data["out/B"] == b"other"


def test_missing_input_fails_the_action_without_running_it() -> None:
    w = World()
    del w.files.data["src/b.txt"]
    result = w.build()
    assert w.verdicts()["copy"] == "failed: no record of a previous run in this tree"
    assert result.outcomes[2].message == "missing input src/b.txt (no action produces it)"
    assert "copy" not in w.executor.ran


def test_clean_build_is_served_by_the_store() -> None:
    w = World()
    w.build()
    w.files.data.pop("out/A")
    w.build(clean=True)
    assert w.executor.ran == []
    assert set(w.verdicts().values()) == {"cached: clean build (-c)"}
    assert w.files.data["out/A"] == b"HELLO"


def test_an_unwritable_cache_is_a_warning_not_a_failure() -> None:
    w = World()
    result = w.build(store=BrokenStore(files=w.files))
    assert result.ok
    assert sorted(result.warnings) == [
        f"{a}: not stored in the action cache: disk full" for a in ("copy", "count", "upper")
    ]


def test_interrupt_stops_starting_actions() -> None:
    w = World()
    result = w.build(interrupt_on="upper")
    assert result.interrupted
    assert w.executor.ran == ["upper"]  # it finished (the fake ignores the kill); nothing else started
    assert sorted(w.actions[i].id for i in result.unstarted) == ["copy", "count"]
    assert [e.action.id for e in w.events if isinstance(e, ActionStarted)] == ["upper"]


class ScannedFiles(FakeFiles):
    """Files whose every watched path was stat'ed by a no-op check: `changed` are those that differ."""

    def __init__(self, changed: set[str]) -> None:
        super().__init__()
        self.changed_paths = changed

    def scanned(self) -> set[str] | None:
        return self.changed_paths


def test_the_survey_of_touched_actions_agrees_with_the_survey_of_all() -> None:
    rng = random.Random(4)
    sources, headers = [f"s{k}.c" for k in range(8)], [f"h{k}.h" for k in range(4)]
    for _ in range(300):
        n = rng.randint(1, 25)
        actions = []
        for i in range(n):
            inputs = set(rng.sample(sources, rng.randint(0, 2)))
            inputs.update(f"o{j}" for j in rng.sample(range(i), min(i, rng.randint(0, 2))))
            actions.append(act(f"a{i}", tuple(sorted(inputs)), f"o{i}"))
        dag = dagmod.build(ActionTable.of(actions))
        fingerprints = tuple(f"fp{i}" for i in range(n))
        rows = {a.id: (fingerprints[i], tuple(rng.sample(headers, rng.randint(0, 2))), b"") for i, a in
                enumerate(actions)}
        everything = sorted({*sources, *headers, *(f"o{i}" for i in range(n))})
        changed = set(rng.sample(everything, rng.randint(0, 3)))
        chosen = set(rng.sample(range(n), rng.randint(1, n)))
        stack = list(chosen)
        while stack:  # a selection holds what it needs
            for d in dag.deps[stack.pop()]:
                if d not in chosen:
                    chosen.add(d)
                    stack.append(d)
        selected = frozenset(chosen)
        table = dag.actions
        touched = {
            i for i in selected
            if changed & {*table.inputs[i], *rows[table.ids[i]][1], *table.outputs[i]}
        }
        files, previous = ScannedFiles(changed), RecordTable(rows)
        full = survey(dag, selected, fingerprints, previous, files)
        quick = survey_touched(dag, selected, fingerprints, previous, files, touched)
        assert list(quick.items()) == list(full.items())
