"""The planner as pure logic: projects in, actions out (tests/test_toolchain_build.py runs them for real)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

import sample_enlistment as sample
from enlist.errors import ConfigError, DescriptorError, GraphError
from enlist.model.action import ActionKind
from enlist.model.project import Pass, Project, SourceFile, TargetType
from enlist.model.revision import Revision
from enlist.rules.planner import plan
from enlist.rules.settings import RuleSettings, parse
from enlist.rules.spec import BuildSpec, Plan, ToolTree

REPO_TOML = Path(__file__).resolve().parents[1] / "buildconf" / "enlist.toml"
ZIG = ToolTree("ziglang", "a" * 64, "/cache/trees/zig")
RE2C = ToolTree("re2c", "b" * 64, "/cache/trees/re2c")
REV = Revision("c" * 40, False, 1700000000)


def rules(kind: str | None = None) -> RuleSettings:
    text = REPO_TOML.read_text()
    return parse(tomllib.loads(text), text=text, kind=kind)


def spec(**changes: object) -> BuildSpec:
    base = BuildSpec(
        root="/src/enl",
        config="chk-amd64",
        version="2.5",
        revision=REV,
        packages=(RE2C, ZIG),
        cache_dir="/home/u/.cache/enlist",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def sample_plan(**changes: object) -> Plan:
    return plan(sample.projects(), sample.CONSUMPTIONS, settings=rules(), spec=spec(**changes))


def test_one_action_per_step_with_its_pass() -> None:
    kinds = {a.id: (a.kind, a.pass_) for a in sample_plan().actions}
    assert kinds == {
        ".:stamp": (ActionKind.STAMP, Pass.PASS2),
        "projects/app:compile:main.c": (ActionKind.COMPILE, Pass.PASS1),
        "projects/app:link": (ActionKind.LINK, Pass.PASS2),
        "projects/app:publish:pass2": (ActionKind.PUBLISH, Pass.PASS2),
        "projects/app:test:app": (ActionKind.TEST, Pass.POSTBUILD),
        "projects/greet:compile:greet.c": (ActionKind.COMPILE, Pass.PASS1),
        "projects/greet:link": (ActionKind.LINK, Pass.PASS2),
        "projects/greet:publish:pass2": (ActionKind.PUBLISH, Pass.PASS2),
        "projects/lex:archive": (ActionKind.ARCHIVE, Pass.PASS1),
        "projects/lex:compile:lexer.c": (ActionKind.COMPILE, Pass.PASS1),
        "projects/lex:compile:util.c": (ActionKind.COMPILE, Pass.PASS1),
        "projects/lex:generate:lexer.re": (ActionKind.GENERATE, Pass.PASS0),
        "projects/lex:publish:pass0": (ActionKind.PUBLISH, Pass.PASS0),
        "projects/lex:publish:pass1": (ActionKind.PUBLISH, Pass.PASS1),
    }


def test_compiles_carry_the_reproducibility_flags_and_relative_paths_inside_the_enlistment() -> None:
    # commands run at the enlistment root: a source named by its absolute path would end up in the object
    action = sample_plan().action("projects/app:compile:main.c")
    zig = "/cache/trees/zig/ziglang/zig"
    assert action.argv[:2] == (zig, "cc")
    for flag in (
        "-target",
        "x86_64-linux-musl",
        "-mcpu=baseline",
        "-g0",
        "-fdebug-compilation-dir=.",
        "-ffile-prefix-map=/src/enl=.",
        "-ffile-prefix-map=/cache/trees/zig/ziglang=/zig",
        "-O0",
        "-DDBG=1",
        "-DAPP=1",
        "-I/src/enl/public/chk-amd64/inc",
        "-c",
        "-MD",
    ):
        assert flag in action.argv, flag
    assert action.argv[-4:] == ("-c", "projects/app/main.c", "-o", "projects/app/obj/chk-amd64/main.c.o")
    assert action.depfile == "projects/app/obj/chk-amd64/main.c.d"
    assert action.argv[action.argv.index("-MF") + 1] == action.depfile
    assert action.cwd == "."
    assert (action.inputs, action.outputs) == (
        ("projects/app/main.c",),
        ("projects/app/obj/chk-amd64/main.c.o",),
    )


def test_the_environment_is_complete_and_scrubbed() -> None:
    env = dict(
        sample_plan(host_env=(("HOME", "/home/u"), ("TZ", "Asia/Tokyo")))
        .action("projects/app:compile:main.c")
        .env
    )
    assert env == {
        "HOME": "/home/u",
        "LC_ALL": "C",
        "TZ": "UTC",
        "SOURCE_DATE_EPOCH": "0",
        "ZIG_GLOBAL_CACHE_DIR": "/home/u/.cache/enlist/zig/" + "a" * 64,
        "ZIG_LOCAL_CACHE_DIR": "/src/enl/out/zig-cache",
    }


def test_path_roots_name_package_trees_and_zig_cache_by_digest() -> None:
    roots = sample_plan().roots
    assert roots.enlistment == "/src/enl"
    assert dict(roots.packages) == {
        "/cache/trees/zig": "@ziglang/" + "a" * 64,
        "/cache/trees/re2c": "@re2c/" + "b" * 64,
        "/home/u/.cache/enlist/zig/" + "a" * 64: "@ziglang-cache/" + "a" * 64,
    }
    lengths = [len(path) for path, _ in roots.packages]
    assert lengths == sorted(lengths, reverse=True)


def test_generator_runs_in_pass0_with_its_template_and_its_output_compiles() -> None:
    p = sample_plan()
    gen = p.action("projects/lex:generate:lexer.re")
    assert gen.argv[0] == "/cache/trees/re2c/re2c/data/bin/re2c"
    assert list(gen.argv[1:3]) == ["-i", "--no-generation-date"]
    assert "/cache/trees/re2c/re2c/data/share/re2c/stdlib" in gen.argv
    assert gen.outputs == ("projects/lex/obj/chk-amd64/lexer.c",)
    assert gen.depfile == "projects/lex/obj/chk-amd64/lexer.c.d"
    assert "ZIG_GLOBAL_CACHE_DIR" not in dict(gen.env)
    compile_ = p.action("projects/lex:compile:lexer.c")
    assert compile_.inputs == ("projects/lex/obj/chk-amd64/lexer.c",)
    assert "projects/lex:generate:lexer.re" in compile_.after


def test_archive_link_and_shared_library() -> None:
    p = sample_plan()
    archive = p.action("projects/lex:archive")
    assert archive.argv[1:3] == ("ar", "rcs")
    assert archive.outputs == ("projects/lex/obj/chk-amd64/liblex.a",)
    assert archive.inputs == ("projects/lex/obj/chk-amd64/lexer.c.o", "projects/lex/obj/chk-amd64/util.c.o")
    link = p.action("projects/app:link")
    assert "-s" in link.argv and "-shared" not in link.argv
    assert set(link.inputs) == {
        "projects/app/obj/chk-amd64/main.c.o",
        "out/chk-amd64/stamp/enlist_stamp.o",
        "public/chk-amd64/lib/liblex.a",
    }
    assert dict(link.env)["SOURCE_DATE_EPOCH"] == "1700000000"
    shared = p.action("projects/greet:link")
    assert {"-shared", "-Wl,-soname,libgreet.so"} <= set(shared.argv)
    assert shared.outputs == ("projects/greet/obj/chk-amd64/libgreet.so",)


def test_order_edges_follow_the_project_graph_and_leave_other_passes_free() -> None:
    p = sample_plan()
    assert p.action("projects/app:compile:main.c").after == ("projects/lex:publish:pass0",)
    assert "projects/lex:publish:pass1" in p.action("projects/app:link").after
    assert p.action("projects/greet:compile:greet.c").after == ()  # consumes nothing: free to start at once
    assert p.action("projects/lex:compile:util.c").after == (
        "projects/lex:generate:lexer.re",
        "projects/lex:publish:pass0",
    )


def test_every_edge_names_an_action_of_the_plan() -> None:
    p = sample_plan()
    ids = {a.id for a in p.actions}
    writers = {out for a in p.actions for out in a.outputs}
    for action in p.actions:
        assert set(action.after) <= ids, action.id
        assert action.id not in action.after
        for path in action.inputs:
            assert path in writers or not path.startswith(("public/", "out/")) or path.endswith(".c"), path


def test_publish_and_test_actions() -> None:
    p = sample_plan()
    pub = p.action("projects/lex:publish:pass1")
    assert pub.argv == () and pub.publish == (
        ("projects/lex/obj/chk-amd64/liblex.a", "public/chk-amd64/lib/liblex.a"),
    )
    test = p.action("projects/app:test:app")
    assert test.argv == ("/src/enl/projects/app/obj/chk-amd64/app", "three little words")
    assert test.stdout == "projects/app/obj/chk-amd64/app.test.log" == test.outputs[0]
    assert test.cwd == "projects/app"


def test_the_stamp_is_one_object_that_no_compile_depends_on() -> None:
    dev = sample_plan()
    official = sample_plan(official=True, build_number=42)
    (dev_file,), (official_file,) = dev.files, official.files
    assert dev_file.path == official_file.path == "out/chk-amd64/stamp/enlist_stamp.c"
    assert 'enlist_stamp_version[] = "2.5.0-dev";' in dev_file.content
    assert 'enlist_stamp_version[] = "2.5.42";' in official_file.content
    assert f'enlist_stamp_commit[] = "{"c" * 40}";' in official_file.content
    changed = {a.id for a in dev.actions} ^ {a.id for a in official.actions}
    assert not changed
    different = sorted(a.id for a in dev.actions if a != official.action(a.id))
    assert different == []  # the plan is the same; only the stamp source differs
    assert "-dirty" in sample_plan(revision=Revision("d" * 40, True, 5)).files[0].content


def test_an_official_build_needs_a_build_number() -> None:
    with pytest.raises(Exception, match="an official build needs a build number"):
        sample_plan(official=True)


def test_the_plan_is_the_same_at_any_enlistment_path_once_normalised() -> None:
    a = sample_plan()
    b = sample_plan(root="/elsewhere/deep/enl")
    for x in a.actions:
        y = b.action(x.id)
        assert tuple(s.replace("/src/enl", "$ROOT") for s in x.argv) == tuple(
            s.replace("/elsewhere/deep/enl", "$ROOT") for s in y.argv
        )
        assert (x.inputs, x.outputs, x.after) == (y.inputs, y.outputs, y.after)


def _project(**changes: object) -> Project:
    base = sample.projects()[1]
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_unknown_source_kind_is_an_error_at_its_line() -> None:
    bad = _project(sources=(SourceFile("projects/greet/notes.txt", sample._loc("projects/greet", 9)),))
    with pytest.raises(DescriptorError) as caught:
        plan([bad], settings=rules(), spec=spec())
    assert caught.value.render().startswith(
        "projects/greet/sources:9: don't know how to build 'projects/greet/notes.txt'"
    )


def test_two_writers_of_one_file_is_an_error() -> None:
    twin = _project(
        dir="projects/greet2",
        obj_dir="projects/greet/obj/chk-amd64",
        sources=(SourceFile("projects/greet/greet.c", sample._loc("projects/greet2", 3)),),
    )
    with pytest.raises(
        GraphError, match=re.escape("'projects/greet/obj/chk-amd64/libgreet.so' is written by two actions")
    ):
        plan([_project(), twin], settings=rules(), spec=spec())


def test_a_missing_package_is_named() -> None:
    with pytest.raises(ConfigError, match=re.escape("[generators.re2c] package 're2c' is not restored")):
        plan(sample.projects(), settings=rules(), spec=spec(packages=(ZIG,)))
    with pytest.raises(ConfigError, match=re.escape("[toolchain] package 'ziglang' is not restored")):
        plan(sample.projects(), settings=rules(), spec=spec(packages=(RE2C,)))


def test_cxx_sources_compile_and_link_with_the_cxx_driver() -> None:
    cxx = _project(
        target_type=TargetType.PROGRAM,
        sources=(SourceFile("projects/greet/greet.cpp", sample._loc("projects/greet", 3)),),
    )
    p = plan([cxx], settings=rules(), spec=spec())
    assert p.action("projects/greet:compile:greet.cpp").argv[1] == "c++"
    assert "-std=c++17" in p.action("projects/greet:compile:greet.cpp").argv
    assert p.action("projects/greet:link").argv[1] == "c++"


def test_the_host_toolchain_uses_the_handed_in_tools() -> None:
    tools = (("ar", "/usr/bin/ar"), ("cc", "/usr/bin/gcc"), ("cxx", "/usr/bin/g++"))
    p = plan(sample.projects(), sample.CONSUMPTIONS, settings=rules("host"), spec=spec(host_tools=tools))
    compile_ = p.action("projects/greet:compile:greet.c")
    assert compile_.argv[0] == "/usr/bin/gcc"
    assert "-target" not in compile_.argv and "-fdebug-prefix-map=/src/enl=." in compile_.argv
    assert p.action("projects/lex:archive").argv[:2] == ("/usr/bin/ar", "rcsD")
    assert "ZIG_GLOBAL_CACHE_DIR" not in dict(compile_.env)


def test_a_source_naming_an_unknown_generator_is_an_error_at_its_line() -> None:
    source = SourceFile("projects/greet/grammar.y", sample._loc("projects/greet", 4), generator="bison")
    with pytest.raises(DescriptorError) as caught:
        plan([_project(sources=(source,))], settings=rules(), spec=spec())
    assert caught.value.render() == (
        "projects/greet/sources:4: no code generator named 'bison' for 'projects/greet/grammar.y'\n"
        "  hint: declare it as [generators.NAME] in buildconf/enlist.toml"
    )
