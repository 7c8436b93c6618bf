"""The descriptor corpus (tests/data/descriptors/): every bad file fails with the exact `file:line: message`
its first line announces (and the hint its second line announces, if any); every good file evaluates to the
model
described by the JSON file next to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from enlist.descriptors.context import Context
from enlist.descriptors.sources import evaluate_project
from enlist.errors import DescriptorError
from enlist.model.project import Project

DATA = Path(__file__).parent / "data" / "descriptors"
ROOT = "/enl"
CONTEXT = Context(root=ROOT, config="chk-amd64", generators={".re": "re2c"})


def reader(case: Path):  # type: ignore[no-untyped-def]
    """`proj/sources` is the case file; any other `proj/...` is a file next to it in the corpus."""

    def read(path: str) -> bytes | None:
        if path == "proj/sources":
            return case.read_bytes()
        if path.startswith("proj/"):
            candidate = case.parent / path.removeprefix("proj/")
            return candidate.read_bytes() if candidate.is_file() else None
        return None

    return read


def expectations(case: Path) -> tuple[str, str | None]:
    lines = case.read_bytes().decode("utf-8", "replace").splitlines()
    expect = lines[0].removeprefix("# expect: ")
    hint = lines[1].removeprefix("# hint: ") if lines[1].startswith("# hint: ") else None
    return expect, hint


BAD = sorted((DATA / "bad").glob("*.sources"))


@pytest.mark.parametrize("case", BAD, ids=[c.stem for c in BAD])
def test_bad_descriptor_fails_at_its_line(case: Path) -> None:
    expect, hint = expectations(case)
    with pytest.raises(DescriptorError) as info:
        evaluate_project("proj", reader(case), CONTEXT)
    assert info.value.render().splitlines()[0] == expect
    if hint is not None:
        assert info.value.hint == hint


def describe(project: Project) -> dict[str, object]:
    """The model as readable JSON: locations as `file:line`."""

    def items(values: tuple) -> list[str]:  # type: ignore[type-arg]
        return [f"{v.value} @{v.location}" for v in values]

    return {
        "target": [project.target_name, project.target_type.value, str(project.target_location)],
        "obj_dir": project.obj_dir,
        "sources": [
            f"{s.path} @{s.location}" + (f" [{s.generator}]" if s.generator else "") for s in project.sources
        ],
        "includes": items(project.includes),
        "defines": items(project.defines),
        "c_flags": items(project.c_flags),
        "linker_flags": items(project.linker_flags),
        "target_libs": items(project.target_libs),
        "publish": [f"{p.pass_.label} {p.src} -> {p.dest} @{p.location}" for p in project.publish],
        "produces": items(project.produces),
        "consumes": items(project.consumes),
        "tests": [
            f"{t.program} {' '.join(t.args)} @{t.location}".replace("  @", " @") for t in project.tests
        ],
        "macros": dict(project.macros),
    }


GOOD = sorted((DATA / "good").glob("*.sources"))


@pytest.mark.parametrize("case", GOOD, ids=[c.stem for c in GOOD])
def test_good_descriptor_evaluates_to_its_model(case: Path) -> None:
    evaluated = evaluate_project("proj", reader(case), CONTEXT)
    expected = json.loads(case.with_suffix(".json").read_text())
    assert describe(evaluated.project) == expected["project"]
    assert [d.render() for d in evaluated.diagnostics] == expected["diagnostics"]


def test_the_corpus_is_not_empty() -> None:
    assert len(BAD) >= 40 and len(GOOD) >= 4
