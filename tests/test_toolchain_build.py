"""Real builds with the real zig and re2c: plans run by a tiny runner (tests/planrunner.py) in two enlistments
at
different paths must give byte-identical objects, archives, programs, shared libraries and manifests."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

import planrunner
import sample_enlistment as sample
from enlist import compdb, manifest, workspace
from enlist.model import project as model
from enlist.model.action import ActionKind
from enlist.rules.planner import plan
from enlist.rules.settings import RuleSettings
from enlist.rules.spec import BuildSpec, Plan, ToolTree
from enlist.toolchain import build_spec, load_rules, warm_up

pytestmark = pytest.mark.slow
CONFIG = "chk-amd64"


@dataclass(frozen=True)
class Built:
    root: Path
    plan: Plan
    spec: BuildSpec
    rules: RuleSettings


def build(root: Path, trees: dict[str, ToolTree], **spec_changes: object) -> Built:
    settings = workspace.load(root)
    rules = load_rules(settings)
    spec = build_spec(settings, rules, config=CONFIG, packages=list(trees.values()))
    spec = replace(spec, **spec_changes)  # type: ignore[arg-type]
    the_plan = plan(sample.projects(CONFIG), sample.CONSUMPTIONS, settings=rules, spec=spec)
    planrunner.run(the_plan)
    manifest.write_manifest(the_plan, spec, rules)
    compdb.write_compile_commands(the_plan)
    return Built(root, the_plan, spec, rules)


def outputs(root: Path) -> dict[str, bytes]:
    """Every build output but depfiles (they name absolute paths: machine-local)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        built = "/obj/" in rel or rel.startswith((f"public/{CONFIG}/", f"out/{CONFIG}/"))
        if built and path.is_file() and not rel.endswith(".d"):
            found[rel] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def two_builds(
    tool_trees: dict[str, ToolTree], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Built, Built]]:
    base = tmp_path_factory.mktemp("repro")
    roots = (base / "a" / "enl", base / "b" / "a much" / "deeper" / "place")
    for root in roots:
        root.mkdir(parents=True)
        sample.write(root)
        sample.commit(root)
    first = build(roots[0], tool_trees)
    old = os.umask(0o077)  # another umask, another path, another local cache: the same bytes
    try:
        second = build(roots[1], tool_trees)
    finally:
        os.umask(old)
    yield first, second


def test_two_enlistments_at_different_paths_build_identical_bytes(two_builds: tuple[Built, Built]) -> None:
    a, b = two_builds
    out_a, out_b = outputs(a.root), outputs(b.root)
    kinds = {".o", ".a", ".so", "app", ".json", ".h"}
    assert {k for k in kinds if any(p.endswith(k) for p in out_a)} == kinds
    assert sorted(out_a) == sorted(out_b)
    different = [path for path in out_a if out_a[path] != out_b[path]]
    assert different == []


def test_the_program_runs_with_the_generated_lexer_and_its_stamp(two_builds: tuple[Built, Built]) -> None:
    a, _ = two_builds
    app = a.root / "public" / CONFIG / "bin" / "app"
    done = subprocess.run([app, "one two three four"], capture_output=True, text=True, env={}, check=True)
    assert done.stdout == "words=4 twice=8 projects/app/main.c\n"
    binary = app.read_bytes()
    assert b"1.0.0-dev" in binary and a.spec.revision.commit.encode() in binary
    assert len(a.spec.revision.commit) == 40 and not a.spec.revision.dirty
    assert b"enlist_stamp" not in (a.root / "projects/lex/obj" / CONFIG / "liblex.a").read_bytes()
    log = a.root / "projects/app/obj" / CONFIG / "app.test.log"
    assert log.read_text() == "words=3 twice=6 projects/app/main.c\n"


def test_the_manifest_records_revision_tools_and_published_digests(
    two_builds: tuple[Built, Built], tool_trees: dict[str, ToolTree]
) -> None:
    a, b = two_builds
    text = manifest.manifest_path(a.root, CONFIG).read_text()
    assert text == manifest.manifest_path(b.root, CONFIG).read_text()
    doc = json.loads(text)
    assert doc["revision"] == {"commit": a.spec.revision.commit, "dirty": False}
    assert doc["tools"] == {"re2c": tool_trees["re2c"].sha256, "ziglang": tool_trees["ziglang"].sha256}
    assert doc["toolchain"] == {"kind": "zig", "target": "x86_64-linux-musl"}
    assert sorted(doc["published"]) == [
        f"public/{CONFIG}/bin/app",
        f"public/{CONFIG}/bin/libgreet.so",
        f"public/{CONFIG}/inc/lex.h",
        f"public/{CONFIG}/lib/liblex.a",
    ]
    assert str(a.root) not in text and doc["lock"] is None


def test_compile_commands_name_real_commands_with_absolute_paths(two_builds: tuple[Built, Built]) -> None:
    a, _ = two_builds
    entries = json.loads((a.root / "compile_commands.json").read_text())
    root = a.root.resolve().as_posix()
    assert [e["file"] for e in entries] == [
        f"{root}/projects/app/main.c",
        f"{root}/projects/greet/greet.c",
        f"{root}/projects/lex/obj/{CONFIG}/lexer.c",
        f"{root}/projects/lex/util.c",
    ]
    main = entries[0]
    assert main["directory"] == root
    assert f"-I{root}/public/{CONFIG}/inc" in main["arguments"]
    assert main["arguments"][0].startswith(a.spec.packages[1].path) and main["arguments"][1] == "cc"
    # run the recorded command as an editor's tooling would, from its directory
    done = subprocess.run(
        main["arguments"],
        cwd=main["directory"],
        env=dict(a.plan.action("projects/app:compile:main.c").env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_an_official_build_changes_only_the_stamp_and_what_links_it(
    two_builds: tuple[Built, Built], tool_trees: dict[str, ToolTree]
) -> None:
    a, _ = two_builds
    before = outputs(a.root)
    build(a.root, tool_trees, official=True, build_number=77)
    after = outputs(a.root)
    changed = sorted(path for path in before if before[path] != after.get(path))
    assert changed == [
        f"out/{CONFIG}/manifest.json",
        f"out/{CONFIG}/stamp/enlist_stamp.c",
        f"out/{CONFIG}/stamp/enlist_stamp.o",
        f"projects/app/obj/{CONFIG}/app",
        f"projects/greet/obj/{CONFIG}/libgreet.so",
        f"public/{CONFIG}/bin/app",
        f"public/{CONFIG}/bin/libgreet.so",
    ]
    assert b"1.0.77" in after[f"public/{CONFIG}/bin/app"]


def test_a_failing_test_program_fails_its_action_and_keeps_its_output(
    two_builds: tuple[Built, Built], tool_trees: dict[str, ToolTree]
) -> None:
    a, _ = two_builds
    projects = sample.projects(CONFIG)
    projects[2] = replace(
        projects[2], tests=(model.TestProgram("app", ("two words", "fail"), projects[2].target_location),)
    )
    p = plan(projects, sample.CONSUMPTIONS, settings=a.rules, spec=a.spec)
    tests = [x for x in p.actions if x.kind is ActionKind.TEST]
    outcomes = planrunner.run(replace(p, actions=tuple(tests)), stop_on_failure=False)
    assert outcomes["projects/app:test:app"].returncode == 3
    assert (a.root / "projects/app/obj" / CONFIG / "app.test.log").read_text() == (
        "words=2 twice=4 projects/app/main.c\n"
    )


def test_warm_up_builds_libc_once_then_skips(
    tool_trees: dict[str, ToolTree], two_builds: tuple[Built, Built], clean_env: None
) -> None:
    a, _ = two_builds
    warm_up(a.rules, tool_trees["ziglang"], archs=["amd64"])  # warm already (the builds linked), or warm now
    assert warm_up(a.rules, tool_trees["ziglang"], archs=["amd64"]) == []


def test_the_host_toolchain_builds_the_same_enlistment(
    tool_trees: dict[str, ToolTree], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample.write(tmp_path)
    monkeypatch.setenv("ENLIST_TOOLCHAIN", "host")
    built = build(tmp_path, tool_trees)
    assert built.rules.toolchain.kind == "host"
    assert built.plan.action("projects/app:link").argv[0] == dict(built.spec.host_tools)["cc"]
    log = tmp_path / "projects/app/obj" / CONFIG / "app.test.log"
    assert log.read_text() == "words=3 twice=6 projects/app/main.c\n"
    assert json.loads(manifest.manifest_path(tmp_path, CONFIG).read_text())["toolchain"] == {
        "kind": "host",
        "target": "host",
    }
