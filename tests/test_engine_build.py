"""End-to-end builds of a small real enlistment (host cc and ar, real files, real processes): what a user
sees."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import enginekit as ek
from enginekit import CONFIG, Kit, obj, verdicts

OUTPUTS = [
    obj("lib", "greet.o"),
    obj("lib", "count.o"),
    obj("lib", "liblib.a"),
    obj("app", "main.o"),
    obj("app", "app"),
    obj("app", "app.out"),
    obj("other", "other.o"),
    obj("other", "libother.a"),
    f"public/{CONFIG}/inc/greet.h",
    f"public/{CONFIG}/lib/liblib.a",
]


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    return ek.make_kit(tmp_path / "tree")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def ran(output: str) -> set[str]:
    return {a for a, v in verdicts(output).items() if v.startswith("ran")}


def summary(kit: Kit) -> dict[str, object]:
    data = json.loads((kit.root / "out" / CONFIG / "build.json").read_text())
    assert isinstance(data, dict)
    return data


def settle(kit: Kit, cache: Path) -> None:
    """Build until the tree is current: sources written a moment before a build are hashed again by the next
    one (racy files, see enlist/store/files.py), so two builds leave nothing to re-check."""
    for _ in range(2):
        code, _ = ek.build(kit, cache=cache)
        assert code == 0


def test_full_build_runs_every_action_and_the_program_works(kit: Kit, cache: Path) -> None:
    code, output = ek.build(kit, cache=cache)
    assert code == 0, output
    assert len(ran(output)) == 9
    for path in OUTPUTS:
        assert (kit.root / path).is_file(), path
    assert kit.read(obj("app", "app.out")) == b"42\n"
    data = summary(kit)
    assert data["result"] == "succeeded"
    assert data["counts"] == {
        "actions": 9,
        "ran": 9,
        "cached": 0,
        "up_to_date": 0,
        "failed": 0,
        "skipped": 0,
        "not_started": 0,
        "interrupted": 0,
    }
    assert data["tests"] == [
        {
            "action": "app:test:app",
            "project": "app",
            "result": "passed",
            "seconds": data["tests"][0]["seconds"],
        }
    ]  # type: ignore[index]
    log = (kit.root / "out" / CONFIG / "build.log").read_text()
    assert "CC lib/greet.c" in log and "-MD -MF lib/obj/chk-amd64/greet.d" in log


def test_a_second_build_runs_nothing(kit: Kit, cache: Path) -> None:
    settle(kit, cache)
    seen: list[tuple[int, bool]] = []
    code, output = ek.build(
        kit, cache=cache, after=lambda plan, result: seen.append((len(plan.actions), result.ok))
    )
    assert code == 0
    assert seen == [(9, True)]  # the hook that refreshes compile_commands.json and the manifest ran
    assert ran(output) == set()
    assert summary(kit)["result"] == "nothing to do"
    assert summary(kit)["counts"]["up_to_date"] == 9  # type: ignore[index]


def test_a_changed_header_rebuilds_exactly_its_dependants(kit: Kit, cache: Path) -> None:
    settle(kit, cache)
    kit.write("lib/greet.h", "#pragma once\nint greet(void);\nint count(void);\n#define UNUSED 1\n")
    code, output = ek.build(kit, cache=cache)
    assert code == 0
    # the compiles that include the header (directly, or its published copy) and the publish that copies it
    assert ran(output) == {
        "lib:compile:greet.c",
        "lib:compile:count.c",
        "lib:publish:pass1",
        "app:compile:main.c",
    }
    v = verdicts(output)
    assert v["lib:compile:greet.c"] == "ran: discovered dependency changed: lib/greet.h"
    assert v["app:compile:main.c"] == f"ran: discovered dependency changed: public/{CONFIG}/inc/greet.h"
    assert "other:compile:other.c" not in v  # never even looked at: no file of it changed
    assert kit.read(f"public/{CONFIG}/inc/greet.h").endswith(b"#define UNUSED 1\n")


def test_a_comment_stops_at_early_cutoff(kit: Kit, cache: Path) -> None:
    settle(kit, cache)
    kit.write("lib/greet.c", '#include "greet.h"\nint greet(void) { return 40; } /* forty */\n')
    code, output = ek.build(kit, cache=cache)
    assert code == 0
    assert ran(output) == {"lib:compile:greet.c"}
    v = verdicts(output)
    assert v["lib:compile:greet.c"] == "ran: input changed: lib/greet.c"
    assert v["lib:archive"] == "up to date: its inputs were rebuilt with identical contents (early cutoff)"
    assert v["app:link"].startswith("up to date")


def test_a_failing_compile_fails_only_its_dependants(kit: Kit, cache: Path) -> None:
    kit.write("lib/count.c", '#include "greet.h"\nint count(void) { return 2 }\n')
    code, output = ek.build(kit, cache=cache)
    assert code == 1
    v = verdicts(output)
    assert v["lib:compile:count.c"].startswith("failed")
    assert v["lib:compile:greet.c"].startswith("ran")
    assert v["other:archive"].startswith("ran")  # independent work finished
    skipped = {s["action"] for s in summary(kit)["skipped"]}  # type: ignore[attr-defined]
    assert skipped == {"lib:archive", "lib:publish:pass1", "app:compile:main.c", "app:link", "app:test:app"}
    err = (kit.root / "out" / CONFIG / "build.err").read_text()
    assert "lib: error: CC lib/count.c failed (exit code 1)" in err
    assert re.search(r"^lib: lib/count\.c:2:\d+: error: ", err, re.M), err
    assert "1>error: CC lib/count.c failed" in output or "2>error: CC lib/count.c failed" in output
    # fixed, the next build finishes the work and no longer reports the failure
    kit.write("lib/count.c", '#include "greet.h"\nint count(void) { return 2; }\n')
    code, output = ek.build(kit, cache=cache)
    assert code == 0
    assert kit.read(obj("app", "app.out")) == b"42\n"
    assert (kit.root / "out" / CONFIG / "build.err").read_text() == ""


def test_fail_fast_starts_nothing_after_the_first_failure(kit: Kit, cache: Path) -> None:
    kit.write("lib/greet.c", "this is not C\n")
    kit.write("lib/count.c", "neither is this\n")
    code, _ = ek.build(kit, cache=cache, jobs=1, fail_fast=True)
    assert code == 1
    data = summary(kit)
    assert data["counts"]["failed"] == 1  # type: ignore[index]
    assert data["counts"]["not_started"] >= 1  # type: ignore[index]


def snapshot(kit: Kit) -> dict[str, bytes]:
    return {p: kit.read(p) for p in OUTPUTS}


def test_clean_build_is_served_from_the_cache_with_identical_bytes(
    kit: Kit, cache: Path, tmp_path: Path
) -> None:
    settle(kit, cache)
    before = snapshot(kit)
    code, output = ek.build(kit, cache=cache, clean=True)
    assert code == 0
    v = verdicts(output)
    assert {a for a, x in v.items() if x.startswith("cached")} == {
        "lib:compile:greet.c",
        "lib:compile:count.c",
        "lib:archive",
        "app:compile:main.c",
        "app:link",
        "app:test:app",
        "other:compile:other.c",
        "other:archive",
    }
    assert ran(output) == {"lib:publish:pass1"}  # publishing is a copy: never cached
    assert snapshot(kit) == before
    assert os.access(kit.root / obj("app", "app"), os.X_OK)
    # another enlistment, elsewhere, shares the machine cache: keys do not depend on where the tree is
    elsewhere = ek.make_kit(tmp_path / "somewhere" / "else")
    code, output = ek.build(elsewhere, cache=cache)
    assert code == 0
    assert ran(output) == {"lib:publish:pass1"}
    assert snapshot(elsewhere) == before


def test_no_cache_executes_everything(kit: Kit, cache: Path) -> None:
    settle(kit, cache)
    code, output = ek.build(kit, cache=cache, read_cache=False)
    assert code == 0
    assert len(ran(output)) == 9


def test_deleted_output_is_restored_and_dirs_select_projects(kit: Kit, cache: Path) -> None:
    settle(kit, cache)
    (kit.root / obj("other", "other.o")).unlink()
    code, output = ek.build(kit, cache=cache, dirs=("lib",))
    assert code == 0
    assert verdicts(output) == {}  # other/ was not asked for
    code, output = ek.build(kit, cache=cache, dirs=("other",))
    assert code == 0
    assert verdicts(output)["other:compile:other.c"] == f"cached: output missing: {obj('other', 'other.o')}"


def test_pass_limit_stops_after_that_pass(kit: Kit, cache: Path) -> None:
    from enlist.model.project import Pass

    code, _ = ek.build(kit, cache=cache, max_pass=Pass.PASS1)
    assert code == 0
    assert (kit.root / obj("app", "main.o")).is_file()
    assert not (kit.root / obj("app", "app")).exists()


def test_stale_published_files_are_removed_when_the_plan_drops_them(kit: Kit, cache: Path) -> None:
    pub = f"public/{CONFIG}/lib/libother.a"
    kit.extra.append(ek.publish_action("other", ek.Pass.PASS1, ((obj("other", "libother.a"), pub),)))
    settle(kit, cache)
    assert (kit.root / pub).is_file()
    kit.extra.clear()
    kit.write("buildconf/enlist.toml", ek.SOURCES["buildconf/enlist.toml"] + "# descriptors changed\n")
    plans = kit.plans
    code, _ = ek.build(kit, cache=cache)
    assert code == 0
    assert kit.plans == plans + 1  # a plan source changed: the plan was made again
    assert not (kit.root / pub).exists()
    assert (kit.root / obj("other", "libother.a")).is_file()


def test_an_unchanged_plan_is_reused_without_asking_the_planner(kit: Kit, cache: Path) -> None:
    settle(kit, cache)
    plans = kit.plans
    kit.write("lib/greet.c", '#include "greet.h"\nint greet(void) { return 41; }\n')
    code, _ = ek.build(kit, cache=cache)
    assert code == 0
    assert kit.plans == plans
    assert kit.read(obj("app", "app.out")) == b"43\n"


def test_a_bad_plan_is_reported_in_the_logs_and_changes_nothing(kit: Kit, cache: Path) -> None:
    from enlist.errors import GraphError

    clash = ek.archive_action("dup", [obj("lib", "greet.o")], "x.a")._replace(outputs=(obj("lib", "liblib.a"),))
    kit.extra.append(clash)
    with pytest.raises(GraphError) as e:
        ek.build(kit, cache=cache)
    assert "is written by two actions: lib:archive and dup:archive" in e.value.message
    err = (kit.root / "out" / CONFIG / "build.err").read_text()
    assert err.startswith("error: 'lib/obj/chk-amd64/liblib.a' is written by two actions")
    assert summary(kit)["exit_code"] == 2
    assert not (kit.root / obj("lib", "greet.o")).exists()


def test_explain_accounts_for_every_action(kit: Kit, cache: Path) -> None:
    settle(kit, cache)
    kit.write("other/other.c", "int other(void) { return 8; }\n")
    code, output = ek.build(kit, cache=cache)
    assert code == 0
    assert "explain: 7 actions up to date: none of their files changed" in output
    assert set(verdicts(output)) == {"other:compile:other.c", "other:archive"}
