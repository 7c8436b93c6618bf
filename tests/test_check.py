"""`enlist build --check` on the engine kit (host cc, real processes, no descriptors): identical outputs pass,
a command that writes the time is named with its difference, and a second build that cannot run (a file the
copy does not get) is reported instead of compared. The same on the sample enlistment: tests/test_reproduce.py.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

import enginekit as ek
from enginekit import CONFIG, ENV, Kit, obj
from enlist.app.check import check_build
from enlist.console.plain import PlainConsole
from enlist.model.action import Action, ActionKind, PathRoots
from enlist.model.plan import Plan, PlanRequest
from enlist.model.project import Pass


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kit:
    monkeypatch.setenv("ENLIST_DIFFOSCOPE", "none")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return ek.make_kit(tmp_path / "tree")


def planner(kit: Kit):  # type: ignore[no-untyped-def]
    """The kit's actions for whichever tree asks (the copy has its own root)."""

    def plan(request: PlanRequest) -> Plan:
        return kit.plan(request)._replace(roots=PathRoots(request.root))

    return plan


def generator(name: str, script: str, inputs: tuple[str, ...] = ()) -> Action:
    return Action(
        id=f"other:generate:{name}",
        kind=ActionKind.GENERATE,
        project="other",
        pass_=Pass.PASS0,
        argv=("/bin/sh", "-c", script),
        inputs=inputs,
        outputs=(obj("other", name),),
        env=ENV,
        description=f"GEN {name}",
    )


def check(kit: Kit, tmp_path: Path) -> tuple[int, str, str]:
    out, shown = io.StringIO(), io.StringIO()
    request = ek.request(kit, cache=tmp_path / "cache")
    code = check_build(request, planner(kit), PlainConsole(shown), out)
    return code, out.getvalue(), shown.getvalue()


def test_a_deterministic_tree_passes_and_leaves_nothing_behind(kit: Kit, tmp_path: Path) -> None:
    code, out, shown = check(kit, tmp_path)
    assert code == 0, out + shown
    assert out == (
        "check: 8 actions gave identical outputs in a second build with no cache in another directory; "
        "1 test log not compared\n"
    )
    assert "enlist: check: building again with no cache in a copy of the tree" in shown
    assert list((tmp_path / "tmp").iterdir()) == []
    assert kit.read(obj("app", "app.out")) == b"42\n"  # the first build is a real build of the tree


def test_a_command_that_writes_the_time_is_named_with_its_difference(kit: Kit, tmp_path: Path) -> None:
    kit.extra.append(generator("when.h", f'printf "#define WHEN %s\\n" "$(date +%s%N)" > {obj("other", "when.h")}'))
    kit.extra.append(
        generator("copy.h", f"cat {obj('other', 'when.h')} > {obj('other', 'copy.h')}", (obj("other", "when.h"),))
    )
    code, out, _ = check(kit, tmp_path)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        "check: 2 of 10 actions gave different outputs in a second build with no cache in another directory; "
        "1 test log not compared:"
    )
    digest = "[0-9a-f]{12}"
    assert re.fullmatch(
        "  not deterministic \\(same inputs, different outputs\\):\n"
        "    GEN when.h  \\[other:generate:when.h\\]\n"
        "      file  +first  +second\n"
        f"      other/obj/{CONFIG}/when.h  {digest}  {digest}\n"
        "  different because an input differs:\n"
        "    GEN copy.h  \\[other:generate:copy.h\\]\n"
        "      file  +first  +second\n"
        f"      other/obj/{CONFIG}/copy.h  {digest}  {digest}\n"
        f"--- first/other/obj/{CONFIG}/when.h\n"
        f"\\+\\+\\+ second/other/obj/{CONFIG}/when.h\n"
        "@@ -1 \\+1 @@\n"
        "-#define WHEN \\d+\n"
        "\\+#define WHEN \\d+\n",
        "\n".join(lines[1:]) + "\n",
    ), out


def test_a_second_build_that_fails_is_shown_not_compared(kit: Kit, tmp_path: Path) -> None:
    kit.write("out/input.txt", "outputs are not copied\n")  # read by an action, but the copy has no out/
    kit.extra.append(generator("input.h", f"cat out/input.txt > {obj('other', 'input.h')}", ("out/input.txt",)))
    code, out, _ = check(kit, tmp_path)
    assert code == 1
    assert "error: GEN input.h failed" in out
    assert out.endswith("check: the second build failed (exit code 1), so nothing was compared\n")


def test_the_first_build_failing_stops_the_check(kit: Kit, tmp_path: Path) -> None:
    kit.write("lib/count.c", "int count(void) { return 2 }\n")
    code, out, shown = check(kit, tmp_path)
    assert code == 1
    assert out == "" and "check:" not in shown
    assert "error: CC lib/count.c failed" in shown
