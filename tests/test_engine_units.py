"""Pure parts of the engine: depfiles, keys, the action graph and the scheduler (tables of inputs and exact
outputs; no files, no processes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enlist.engine import dag as dagmod
from enlist.engine import depfile, keys
from enlist.engine.scheduler import Scheduler
from enlist.engine.table import ActionTable
from enlist.errors import EnlistError, GraphError
from enlist.model.action import Action, ActionKind, PathRoots
from enlist.model.project import Pass

# -- depfiles --

GOOD_DEPFILES = [
    ("a.o: a.c a.h\n", ("a.c", "a.h")),
    ("a.o: a.c \\\n  b.h \\\n  c.h\n", ("a.c", "b.h", "c.h")),
    ("a.o : a.c\n", ("a.c",)),
    ("a.o: dir/has\\ space.h x\\#y.h cost$$.h\n", ("dir/has space.h", "x#y.h", "cost$.h")),
    ("a.o: a.c a.h\na.h:\n", ("a.c", "a.h")),  # -MP phony rules add nothing
    ("a.o b.o: a.c a.c\n", ("a.c",)),
    ("a.o: a.c \\\r\n  b.h\r\n", ("a.c", "b.h")),
    ("a.o: C:\\src\\a.c\n", ("C:\\src\\a.c",)),
    ("", ()),
]


@pytest.mark.parametrize(("text", "deps"), GOOD_DEPFILES)
def test_depfile_prerequisites(text: str, deps: tuple[str, ...]) -> None:
    assert depfile.parse(text) == deps


def test_depfile_line_without_a_rule_is_an_error_with_its_line() -> None:
    with pytest.raises(EnlistError) as e:
        depfile.parse("a.o: a.c\n  b.h\n", "obj/a.d")
    assert e.value.render() == (
        "obj/a.d:2: expected 'target: prerequisites'\n"
        "  hint: a depfile is written by the compiler's -MD -MF; check the action's command line"
    )


def test_depfile_paths_become_engine_paths() -> None:
    found = depfile.normalise(
        ["a.c", "../inc/b.h", "/r/oot/public/c.h", "/pkg/zig/lib/stddef.h", "/usr/include/stdio.h"],
        root="/r/oot",
        cwd="src",
        package_roots=["/pkg/zig"],
        exclude=["src/a.c"],
    )
    assert found == ("/usr/include/stdio.h", "inc/b.h", "public/c.h")


# -- keys --


def action(**fields: object) -> Action:
    base: dict[str, object] = dict(
        id="p:compile:a.c",
        kind=ActionKind.COMPILE,
        project="p",
        pass_=Pass.PASS1,
        argv=("/pkg/zig/zig", "cc", "-c", "p/a.c", "-o", "p/obj/a.o"),
        inputs=("p/a.c",),
        outputs=("p/obj/a.o",),
    )
    base.update(fields)
    return Action(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("-I/src/root/inc", "-I./inc"),
        ("-ffile-prefix-map=/src/root=.", "-ffile-prefix-map=.=."),
        ("/src/rootless/x", "/src/rootless/x"),
        ("/src/root", "."),
        ("/pkgs/zig/1/bin/zig", "@zig/1/bin/zig"),
        ("-L/pkgs/zig/1/lib:/src/root/lib", "-L@zig/1/lib:./lib"),
        ("plain", "plain"),
    ],
)
def test_normaliser_replaces_whole_path_prefixes(text: str, want: str) -> None:
    norm = keys.normaliser(PathRoots("/src/root", (("/pkgs/zig/1", "@zig/1"),)))
    assert norm(text) == want


paths = st.lists(st.sampled_from(["a", "b", "work", "x y", "ü"]), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)


@given(paths, paths)
def test_fingerprint_does_not_depend_on_where_the_enlistment_is(first: str, second: str) -> None:
    def fp(root: str) -> str:
        a = action(
            argv=("/pkg/zig/zig", "cc", f"-I{root}/inc", f"-ffile-prefix-map={root}=."),
            env=(("ZIG_LOCAL_CACHE_DIR", f"{root}/out/zig"),),
        )
        return keys.fingerprint(a, keys.normaliser(PathRoots(root, (("/pkg/zig", "@zig/abc"),))))

    assert fp(first) == fp(second)


def test_fingerprint_changes_with_anything_that_changes_the_command() -> None:
    norm = keys.normaliser(PathRoots("/r"))
    base = keys.fingerprint(action(), norm)
    variants = [
        action(argv=("/pkg/zig/zig", "cc", "-O2", "-c", "p/a.c", "-o", "p/obj/a.o")),
        action(env=(("LC_ALL", "C"),)),
        action(cwd="p"),
        action(inputs=("p/a.c", "p/b.c")),
        action(outputs=("p/obj/b.o",)),
        action(depfile="p/obj/a.d"),
        action(kind=ActionKind.GENERATE),
    ]
    assert len({base, *(keys.fingerprint(v, norm) for v in variants)}) == len(variants) + 1


def test_keys_depend_on_contents_in_order() -> None:
    s1 = keys.static_key("f" * 64, ["1" * 64, "2" * 64])
    assert s1 != keys.static_key("f" * 64, ["2" * 64, "1" * 64])
    assert keys.full_key(s1, [("a.h", "3" * 64)]) != keys.full_key(s1, [("a.h", keys.MISSING)])
    assert keys.full_key(s1, []) == keys.full_key(s1, [])


# -- the action graph --


def act(
    name: str,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    after: tuple[str, ...] = (),
    project: str = "p",
    pass_: Pass = Pass.PASS1,
) -> Action:
    return Action(
        id=name,
        kind=ActionKind.GENERATE,
        project=project,
        pass_=pass_,
        argv=("true",),
        inputs=inputs,
        outputs=outputs or (f"out/{name}",),
        after=after,
    )


def graph(*actions: Action) -> dagmod.Dag:
    return dagmod.build(ActionTable.of(actions))


def test_graph_links_producers_to_consumers_and_after() -> None:
    g = graph(
        act("c", inputs=("out/a", "out/b")),
        act("a"),
        act("b", after=("a",)),
        act("d", inputs=("src/x.c",)),
    )
    assert g.deps == ((1, 2), (), (1,), ())
    assert g.dependants == ((), (0, 2), (0,), ())
    assert g.order == (1, 2, 0, 3)


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ((act("a", outputs=("x",)), act("b", outputs=("x",))), "'x' is written by two actions: a and b"),
        ((act("a"), act("a")), "two actions share the id 'a'"),
        ((act("a", after=("nope",)),), "action a runs after 'nope', which is no action of the plan"),
        (
            (act("a", inputs=("out/c",)), act("b", inputs=("out/a",)), act("c", inputs=("out/b",)), act("d")),
            "the actions form a cycle: a -> b -> c -> a",
        ),
    ],
)
def test_graph_errors(actions: tuple[Action, ...], message: str) -> None:
    with pytest.raises(GraphError) as e:
        graph(*actions)
    assert e.value.message == message
    assert e.value.code == 2


def test_select_takes_dirs_and_passes_and_what_they_need() -> None:
    g = graph(
        act("lib", project="lib"),
        act("app", inputs=("out/lib",), project="app", pass_=Pass.PASS2),
        act("other", project="other"),
        act("deep", project="app/sub"),
    )
    assert dagmod.select(g) == {0, 1, 2, 3}
    assert dagmod.select(g, ["app"]) == {0, 1, 3}
    assert dagmod.select(g, ["app"], Pass.PASS1) == {3}
    assert dagmod.select(g, ["", "app"]) == {0, 1, 2, 3}


def test_saved_graph_restores_without_checking_again() -> None:
    g = graph(act("b", inputs=("out/a",)), act("a"))
    again = dagmod.restore(g.actions, g.saved())
    assert (again.deps, again.dependants, again.order, again.index) == (
        g.deps,
        g.dependants,
        g.order,
        g.index,
    )


def test_priorities_follow_the_longest_chain() -> None:
    g = graph(act("a"), act("b", inputs=("out/a",)), act("c"), act("d", inputs=("out/b",)))
    costs = [1.0, 2.0, 10.0, 3.0]
    assert dagmod.priorities(g, costs.__getitem__) == [6.0, 5.0, 10.0, 3.0]
    assert dagmod.priorities(g, costs.__getitem__, among={1, 3}) == [0.0, 5.0, 0.0, 3.0]


# -- the scheduler --


def test_scheduler_starts_the_critical_path_first_and_releases_dependants() -> None:
    g = graph(act("a"), act("b", inputs=("out/a",)), act("c"))
    s = Scheduler(g, {0, 1, 2}, [5.0, 4.0, 1.0])
    assert s.next() == 0
    assert s.next() == 2
    assert s.next() is None  # b waits for a
    assert s.finish(0, ok=True) == []
    assert s.next() == 1
    s.finish(1, True)
    s.finish(2, True)
    assert s.done()


def test_scheduler_keeps_going_and_skips_what_depends_on_a_failure() -> None:
    g = graph(act("a"), act("b", inputs=("out/a",)), act("c", inputs=("out/b",)), act("d"))
    s = Scheduler(g, range(4), [3.0, 2.0, 1.0, 0.5])
    assert s.next() == 0
    assert s.next() == 3
    assert s.finish(0, ok=False) == [1, 2]
    assert s.skipped == {1: 0, 2: 0}
    s.finish(3, True)
    assert s.next() is None
    assert s.done()
    assert s.unstarted() == []


def test_fail_fast_stops_new_starts() -> None:
    g = graph(act("a"), act("b"), act("c"))
    s = Scheduler(g, range(3), [3.0, 2.0, 1.0], fail_fast=True)
    assert s.next() == 0
    s.finish(0, ok=False)
    assert s.next() is None
    assert s.done()
    assert s.unstarted() == [1, 2]


def test_actions_outside_todo_count_as_done() -> None:
    g = graph(act("a"), act("b", inputs=("out/a",)))
    s = Scheduler(g, {1}, [1.0, 1.0])
    assert s.next() == 1


def test_an_action_survives_the_compact_table_with_every_field() -> None:
    from enlist.engine.table import action_blob, action_from_blob
    from enlist.model.action import Action, ActionKind
    from enlist.model.project import Pass

    action = Action(
        id="p:test:t",
        kind=ActionKind.TEST,
        project="p",
        pass_=Pass.POSTBUILD,
        argv=("p/obj/t", "--fast"),
        inputs=("p/obj/t",),
        outputs=("p/obj/t.log",),
        env=(("LC_ALL", "C"),),
        cwd="p",
        depfile="p/obj/t.d",
        after=("q:publish:pass1",),
        publish=(("a", "b"),),
        description="TEST p/obj/t",
        stdout="p/obj/t.log",
    )
    fields = Action._fields
    assert all(getattr(action, name) not in (None, (), "") for name in fields)  # every field is exercised
    assert action_from_blob(action_blob(action)) == action
