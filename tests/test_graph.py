"""The project graph: publish/consume across three projects, $(O) references, tags, phony nodes, and the
errors
(cycle, missing producer, duplicates), on fake enlistments."""

from __future__ import annotations

import pytest

from enlist.descriptors.enlistment import evaluate_enlistment
from enlist.errors import GraphError, InputErrors
from enlist.graph import query, render
from enlist.graph.edges import PHONY_OVER, build_graph
from enlist.graph.model import EdgeKind, Node, ProjectGraph
from enlist.model.project import Pass
from fake_tree import CONTEXT, FakeTree, load

P0, P1, P2, POST = Pass.PASS0, Pass.PASS1, Pass.PASS2, Pass.POSTBUILD

TRIO = {
    "dirs": "DIRS = replica tracker agent\n",
    "replica/sources": (
        "TARGETNAME = replica\nTARGETTYPE = LIBRARY\nSOURCES = log.c\n"
        "PASS0_PUBLISH = {replica.h=$(PUBLIC_ROOT)\\inc\\replica.h}\n"
        "PASS1_PUBLISH = {$(O)\\replica.lib=$(PUBLIC_ROOT)\\lib\\replica.lib}\n"
    ),
    "tracker/sources": (
        "TARGETNAME = tracker\nTARGETTYPE = LIBRARY\nSOURCES = tracker.c\n"
        "INCLUDES = $(PUBLIC_ROOT)\\inc\n"
        "PASS0_PUBLISH = {tracker.h=$(PUBLIC_ROOT)\\inc\\tracker.h}\n"
        "PASS1_PUBLISH = {$(O)\\tracker.lib=$(PUBLIC_ROOT)\\lib\\tracker.lib}\n"
    ),
    "agent/sources": (
        "TARGETNAME = agent\nTARGETTYPE = PROGRAM\nSOURCES = lexer.re main.c\n"
        "INCLUDES = $(PUBLIC_ROOT)\\inc\n"
        "TARGETLIBS = $(PUBLIC_ROOT)\\lib\\tracker.lib \\\n    $(PUBLIC_ROOT)\\lib\\replica.lib\n"
        "TEST_PROGRAMS = agent.exe\n"
    ),
}


def edges(graph: ProjectGraph) -> set[tuple[str, str, str]]:
    """Cross-project edges as (before, after, kind) strings."""
    return {
        (str(e.before), str(e.after), ",".join(sorted({r.kind.value for r in e.reasons})))
        for e in graph.edges
        if e.before.project != e.after.project
    }


def test_three_projects_publish_and_consume() -> None:
    _, graph = load(TRIO)
    assert edges(graph) == {
        ("replica:pass0", "tracker:pass1", "published"),  # INCLUDES public/inc needs replica.h
        ("replica:pass0", "agent:pass1", "published"),
        ("tracker:pass0", "agent:pass1", "published"),
        ("tracker:pass1", "agent:pass2", "published"),  # TARGETLIBS
        ("replica:pass1", "agent:pass2", "published"),
    }
    assert [str(n) for n in graph.nodes if n.project == "agent"] == [
        "agent:pass0",
        "agent:pass1",
        "agent:pass2",
        "agent:postbuild",
    ]
    order = [str(n) for n in graph.topological_order()]
    assert order.index("replica:pass1") < order.index("agent:pass2")
    assert order[:3] == ["replica:pass0", "tracker:pass0", "agent:pass0"]  # passes first, then dirs order


def test_every_edge_names_the_lines_that_make_it() -> None:
    _, graph = load(TRIO)
    edge = graph.edge(Node("replica", P1), Node("agent", P2))
    assert edge is not None
    [reason] = edge.reasons
    assert reason.kind is EdgeKind.PUBLISHED
    assert str(reason.location) == "agent/sources:6"  # the second line of the continued TARGETLIBS
    assert str(reason.producer) == "replica/sources:5"
    assert reason.detail == "TARGETLIBS needs public/chk-amd64/lib/libreplica.a"


def test_why_gives_the_chain_of_edges() -> None:
    _, graph = load(TRIO)
    chain = query.why(graph, ["agent"], ["replica"])
    assert chain is not None
    assert [(str(e.before), str(e.after)) for e in chain] == [("replica:pass0", "agent:pass1")]
    assert query.why(graph, ["replica"], ["agent"]) is None
    text = render.why_text("agent", "replica", chain)
    assert text.splitlines() == [
        "agent depends on replica:",
        "  agent:pass1 needs replica:pass0",
        "    agent/sources:4: INCLUDES public/chk-amd64/inc needs public/chk-amd64/inc/replica.h",
        "    replica/sources:4: published here",
    ]


def test_closure_keeps_what_the_named_projects_depend_on() -> None:
    _, graph = load(TRIO)
    assert {n.project for n in query.closure(graph, ["tracker"]).nodes} == {"tracker", "replica"}


def test_a_cycle_is_reported_as_a_chain_with_its_lines() -> None:
    files = {
        "dirs": "DIRS = a b\n",
        "a/sources": (
            "TARGETNAME = a\nTARGETTYPE = LIBRARY\nSOURCES = a.c\nINCLUDES = $(PUBLIC_ROOT)\\b\n"
            "PASS1_PUBLISH = {a.h=$(PUBLIC_ROOT)\\a\\a.h}\n"
        ),
        "b/sources": (
            "TARGETNAME = b\nTARGETTYPE = LIBRARY\nSOURCES = b.c\nINCLUDES = $(PUBLIC_ROOT)\\a\n"
            "PASS1_PUBLISH = {b.h=$(PUBLIC_ROOT)\\b\\b.h}\n"
        ),
    }
    with pytest.raises(GraphError) as info:
        load(files)
    assert info.value.render().splitlines() == [
        "a/sources:4: dependency cycle: a:pass1 -> b:pass1 -> a:pass1",
        "  a:pass1 needs b:pass1",
        "    a/sources:4: INCLUDES public/chk-amd64/b needs public/chk-amd64/b/b.h",
        "    b/sources:5: published here",
        "  b:pass1 needs a:pass1",
        "    b/sources:4: INCLUDES public/chk-amd64/a needs public/chk-amd64/a/a.h",
        "    a/sources:5: published here",
        "  hint: remove one of these edges: move what is shared to an earlier pass, or into another project",
    ]


def test_a_consumed_path_that_nobody_publishes_is_an_error_with_a_suggestion() -> None:
    files = dict(TRIO)
    files["agent/sources"] = files["agent/sources"].replace("replica.lib", "replcia.lib")
    with pytest.raises(GraphError) as info:
        load(files)
    assert info.value.render().splitlines() == [
        "agent/sources:6: TARGETLIBS names path 'public/chk-amd64/lib/libreplcia.a',"
        " which no project publishes and no package provides",
        "  hint: did you mean 'public/chk-amd64/lib/libreplica.a'?",
    ]


def test_paths_that_packages_provide_are_not_missing() -> None:
    files = dict(
        TRIO, **{"agent/sources": TRIO["agent/sources"] + "INCLUDES = $(INCLUDES);$(PUBLIC_ROOT)\\sdk\\inc\n"}
    )
    enlistment = evaluate_enlistment(FakeTree(files), CONTEXT)
    with pytest.raises(GraphError, match="public/chk-amd64/sdk/inc"):
        build_graph(enlistment.projects, config="chk-amd64")
    graph, _ = build_graph(enlistment.projects, config="chk-amd64", public_provided=["public/chk-amd64/sdk"])
    assert Node("agent", P1) in graph.nodes


def test_all_graph_errors_are_reported_together() -> None:
    files = dict(TRIO)
    files["tracker/sources"] = (
        TRIO["tracker/sources"]
        .replace("TARGETNAME = tracker", "TARGETNAME = replica")
        .replace("\\tracker.h}", "\\replica.h}")
    )
    files["agent/sources"] = TRIO["agent/sources"].replace("lib\\replica.lib", "lib\\replcia.lib")
    with pytest.raises(InputErrors) as info:
        load(files)
    assert info.value.render().splitlines() == [
        "agent/sources:6: TARGETLIBS names path 'public/chk-amd64/lib/libreplcia.a',"
        " which no project publishes and no package provides",
        "  hint: did you mean 'public/chk-amd64/lib/libreplica.a'?",
        "tracker/sources:1: tracker and replica both build LIBRARY 'replica'",
        "  hint: the other TARGETNAME is at replica/sources:1; rename one of them",
        "tracker/sources:5: 'public/chk-amd64/inc/replica.h' is published twice",
        "  hint: it is already published at replica/sources:4",
    ]


APP_LINKING_LIB = (
    "TARGETNAME = app\nTARGETTYPE = PROGRAM\nSOURCES = app.c\nTARGETLIBS = ..\\lib\\$(O)\\lib.lib\n"
)


def test_references_to_another_projects_obj_dir() -> None:
    files = {
        "dirs": "DIRS = gen lib app\n",
        "gen/sources": "TARGETNAME = gen\nTARGETTYPE = NOTARGET\nSOURCES = tokens.re\n",
        "lib/sources": "TARGETNAME = lib\nTARGETTYPE = LIBRARY\nSOURCES = lib.c\nINCLUDES = ..\\gen\\$(O)\n",
        "app/sources": APP_LINKING_LIB,
    }
    _, graph = load(files)
    assert edges(graph) == {("gen:pass1", "lib:pass1", "obj"), ("lib:pass1", "app:pass2", "obj")}


def test_a_path_in_the_obj_dir_of_a_directory_that_is_not_a_project_is_an_error() -> None:
    files = {
        "dirs": "DIRS = app\n",
        "app/sources": APP_LINKING_LIB,
    }
    with pytest.raises(GraphError) as info:
        load(files)
    assert info.value.render().splitlines()[0] == (
        "app/sources:4: TARGETLIBS names 'lib/obj/chk-amd64/liblib.a',"
        " in the obj dir of a directory that is not a project"
    )


def test_build_consumes_waits_for_the_producers_last_pass() -> None:
    files = {
        "dirs": "DIRS = schema tool\n",
        "schema/sources": "TARGETTYPE = NOTARGET\nBUILD_PRODUCES = schema\nTEST_PROGRAMS = check.sh\n",
        "tool/sources": "TARGETNAME = tool\nTARGETTYPE = PROGRAM\nSOURCES = t.c\n"
        "BUILD_CONSUMES = schema other\n",
    }
    enlistment = evaluate_enlistment(FakeTree(files), CONTEXT)
    graph, warnings = build_graph(enlistment.projects, config="chk-amd64")
    assert edges(graph) == {("schema:postbuild", "tool:pass1", "tag")}
    assert [w.render() for w in warnings] == [
        "tool/sources:4: warning: no project produces 'other' (BUILD_CONSUMES)"
    ]


def test_a_project_may_share_a_public_directory_it_publishes_into() -> None:
    files = {
        "dirs": "DIRS = a\n",
        "a/sources": (
            "TARGETNAME = a\nTARGETTYPE = LIBRARY\nSOURCES = a.c\nINCLUDES = $(PUBLIC_ROOT)\n"
            "PASS1_PUBLISH = {$(O)\\a.lib=$(PUBLIC_ROOT)\\lib\\a.lib}\n"
        ),
    }
    _, graph = load(files)
    assert [str(n) for n in graph.nodes] == ["a:pass1"]


def test_consuming_ones_own_later_output_is_a_cycle() -> None:
    files = {
        "dirs": "DIRS = a\n",
        "a/sources": (
            "TARGETNAME = a\nTARGETTYPE = PROGRAM\nSOURCES = a.c $(PUBLIC_ROOT)\\gen\\a_gen.c\n"
            "PASS2_PUBLISH = {$(O)\\a_gen.c=$(PUBLIC_ROOT)\\gen\\a_gen.c}\n"
        ),
    }
    with pytest.raises(GraphError, match=r"dependency cycle: a:pass1 -> a:pass2 -> a:pass1"):
        load(files)


def many_publishers(count: int) -> dict[str, str]:
    files = {"dirs": "DIRS = " + " ".join(f"l{i}" for i in range(count)) + " app\n"}
    for i in range(count):
        files[f"l{i}/sources"] = (
            f"TARGETNAME = l{i}\nTARGETTYPE = LIBRARY\nSOURCES = l.c\nINCLUDES = $(PUBLIC_ROOT)\\inc\n"
            f"PASS0_PUBLISH = {{l{i}.h=$(PUBLIC_ROOT)\\inc\\l{i}.h}}\n"
        )
    files["app/sources"] = (
        "TARGETNAME = app\nTARGETTYPE = PROGRAM\nSOURCES = a.c\nINCLUDES = $(PUBLIC_ROOT)\\inc\n"
    )
    return files


def test_a_widely_shared_directory_goes_through_one_phony_node() -> None:
    count = PHONY_OVER + 4
    _, graph = load(many_publishers(count))
    phony = Node("public/chk-amd64/inc", P0, phony=True)
    assert phony in graph.nodes and phony not in graph.project_nodes()
    into = [e for e in graph.edges if e.after == phony]
    out = [e for e in graph.edges if e.before == phony]
    assert len(into) == count and len(out) == count + 1  # every library and the app: N + M edges, not N x M
    assert str(phony) == "public/chk-amd64/inc/*"
    chain = query.why(graph, ["app"], ["l3"])
    assert chain is not None and [str(e.before) for e in chain] == ["l3:pass0", "public/chk-amd64/inc/*"]


def test_few_publishers_keep_direct_edges() -> None:
    _, graph = load(many_publishers(PHONY_OVER - 1))
    assert not any(n.phony for n in graph.nodes)


def test_text_and_json_renderings() -> None:
    enlistment, graph = load(TRIO)
    text = render.text(graph, enlistment.projects)
    assert text.splitlines()[:4] == [
        "pass0",
        "  replica  publishes public/chk-amd64/inc/replica.h",
        "  tracker  publishes public/chk-amd64/inc/tracker.h",
        "  agent    generates agent/lexer.re",
    ]
    assert "    after replica:pass1  TARGETLIBS needs public/chk-amd64/lib/libreplica.a" in text.splitlines()
    data = render.to_data(graph, enlistment.projects, "chk-amd64")
    assert data["nodes"][0] == {"id": "agent:pass0", "project": "agent", "pass": "pass0", "phony": False}
    again, graph_again = load(TRIO)
    first = render.json_text(graph, enlistment.projects, "chk-amd64")
    assert first == render.json_text(graph_again, again.projects, "chk-amd64")
    assert render.dot(graph).startswith("digraph enlist {")


def test_a_consumption_in_a_pass_the_project_does_not_have_makes_no_edge() -> None:
    files = {
        "dirs": "DIRS = headers gen\n",
        # header-only: it has a pass0 only, so its boilerplate INCLUDES are never read
        "headers/sources": (
            "TARGETTYPE = NOTARGET\nINCLUDES = $(PUBLIC_ROOT)\\inc\n"
            "PASS0_PUBLISH = {api.h=$(PUBLIC_ROOT)\\inc\\api.h}\n"
        ),
        "gen/sources": (
            "TARGETNAME = gen\nTARGETTYPE = LIBRARY\nSOURCES = gen.c\nINCLUDES = $(PUBLIC_ROOT)\\inc\n"
            "PASS1_PUBLISH = {$(O)\\gen.h=$(PUBLIC_ROOT)\\inc\\gen.h}\n"
        ),
    }
    _, graph = load(files)
    assert edges(graph) == {("headers:pass0", "gen:pass1", "published")}
    files["headers/sources"] += "INCLUDES = $(INCLUDES);$(PUBLIC_ROOT)\\nothere\n"
    with pytest.raises(GraphError, match="public/chk-amd64/nothere"):
        load(files)


def test_linking_a_library_that_the_other_project_does_not_build_is_an_error() -> None:
    files = {
        "dirs": "DIRS = tracker app\n",
        "tracker/sources": "TARGETNAME = tracker\nTARGETTYPE = DYNLINK\nSOURCES = t.c\n",
        "app/sources": (
            "TARGETNAME = app\nTARGETTYPE = PROGRAM\nSOURCES = a.c\n"
            "TARGETLIBS = ..\\tracker\\$(O)\\tracker.lib\n"
        ),
    }
    with pytest.raises(GraphError) as info:
        load(files)
    assert info.value.render().splitlines() == [
        "app/sources:4: TARGETLIBS names 'tracker/obj/chk-amd64/libtracker.a', which tracker does not build",
        "  hint: tracker is a DYNLINK: write tracker.dll to link its shared library",
    ]
    files["app/sources"] = files["app/sources"].replace("tracker.lib", "tracker.dll")
    _, graph = load(files)
    assert edges(graph) == {("tracker:pass2", "app:pass2", "obj")}
