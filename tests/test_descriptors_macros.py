"""Macro expansion, the lexer's line handling and the predefined macros: examples and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enlist.descriptors.context import Context
from enlist.descriptors.evaluator import Evaluation
from enlist.descriptors.lexer import logical_lines
from enlist.descriptors.macros import Macros, expand
from enlist.descriptors.paths import PathPolicy
from enlist.descriptors.sources import evaluate_project
from enlist.descriptors.text import Text, words
from enlist.errors import DescriptorError, Location
from enlist.model.diagnostic import Severity

CONTEXT = Context(root="/enl", config="chk-amd64")


def run(text: str, *, strict: bool = False, predefined: dict[str, str] | None = None) -> Evaluation:
    files = {"d/sources": text.encode()}
    macros = Macros(predefined or {}, obj_relative="obj/chk-amd64")
    evaluation = Evaluation(macros, files.get, PathPolicy("/enl"), strict=strict)
    evaluation.run("d/sources")
    return evaluation


def value(evaluation: Evaluation, name: str) -> str:
    found = evaluation.macros.get(name)
    assert found is not None, name
    return found.value


def word_list(evaluation: Evaluation, name: str) -> list[tuple[str, int]]:
    found = evaluation.macros.get(name) or Text("")
    return [(w, loc.line) for w, loc in words(found)]


WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-/", min_size=1, max_size=12)
PLAIN = st.text(
    alphabet=st.characters(blacklist_characters='$#^\\\n\r"', blacklist_categories=("Cs", "Cc")), max_size=60
).map(str.strip)


@settings(deadline=None)  # timing is not what these properties test
@given(PLAIN)
def test_expanding_text_without_a_dollar_is_the_identity(text: str) -> None:
    lines = logical_lines("X = " + text, "f")
    if not text:
        assert lines[0].text.strip() == "X ="
        return
    expanded = expand(lines[0], Macros({}), on_undefined=None, start=4)
    assert expanded.value == lines[0].text[4:]


@settings(deadline=None)  # timing is not what these properties test
@given(st.lists(WORD, min_size=1, max_size=8), st.lists(WORD, min_size=1, max_size=8))
def test_self_append_grows_by_exactly_the_appended_words(first: list[str], more: list[str]) -> None:
    evaluation = run(f"X = {' '.join(first)}\nX = $(X) {' '.join(more)}\n")
    assert [w for w, _ in word_list(evaluation, "X")] == first + more
    assert [line for _, line in word_list(evaluation, "X")] == [1] * len(first) + [2] * len(more)


@settings(deadline=None)  # timing is not what these properties test
@given(
    PLAIN.filter(lambda t: ")" not in t),
    st.text(alphabet="abc.x_", min_size=1, max_size=3),
    st.text(alphabet="xyz._", max_size=3),
)
def test_substitution_replaces_every_occurrence(text: str, old: str, new: str) -> None:
    evaluation = run(f"X = {text}\nY = $(X:{old}={new})\n")
    assert value(evaluation, "Y") == text.replace(old, new).strip()


@settings(deadline=None)  # timing is not what these properties test
@given(st.lists(WORD, min_size=1, max_size=10), st.data())
def test_each_word_of_a_continued_list_keeps_its_physical_line(items: list[str], data: st.DataObject) -> None:
    breaks = [data.draw(st.booleans()) for _ in items]
    text, line, expected = "SOURCES = ", 1, []
    for item, newline in zip(items, breaks, strict=True):
        if newline:
            text += "\\\n    "
            line += 1
        text += item + " "
        expected.append((item, line))
    evaluation = run(text + "\n")
    assert word_list(evaluation, "SOURCES") == expected


def test_a_comment_inside_a_continued_list_drops_one_entry() -> None:
    evaluation = run("S = \\\n  a.c \\\n#  b.c \\\n  c.c \\\n\nT = x\n")
    assert word_list(evaluation, "S") == [("a.c", 2), ("c.c", 4)]
    assert value(evaluation, "T") == "x"


def test_a_blank_line_ends_a_list_that_ends_with_a_backslash() -> None:
    evaluation = run("S = a.c \\\n    b.c \\\n\nTARGETNAME = x\n")
    assert [w for w, _ in word_list(evaluation, "S")] == ["a.c", "b.c"]
    assert value(evaluation, "TARGETNAME") == "x"


def test_escapes_and_comments() -> None:
    evaluation = run("A = cost $$5 # a comment\nB = ^#define\nC = $ alone\n")
    assert (value(evaluation, "A"), value(evaluation, "B"), value(evaluation, "C")) == (
        "cost $5",
        "#define",
        "$ alone",
    )


def test_names_are_case_sensitive() -> None:
    evaluation = run("Arch = mine\nX = $(Arch)$(ARCH)\n", predefined={"ARCH": "amd64"})
    assert value(evaluation, "X") == "mineamd64"


def test_undefined_macro_warns_with_its_line_and_expands_to_nothing() -> None:
    evaluation = run("X = a\nY = $(X) $(MISSING) b\n")
    assert value(evaluation, "Y") == "a  b"
    [warning] = evaluation.diagnostics
    assert warning.severity is Severity.WARNING
    assert warning.render() == "d/sources:2: warning: undefined macro 'MISSING' expands to nothing"


def test_undefined_macro_is_an_error_under_strict() -> None:
    with pytest.raises(DescriptorError) as info:
        run("X = a\nY = $(MISSING)\n", strict=True)
    assert info.value.render().splitlines()[0] == "d/sources:2: undefined macro 'MISSING'"


def test_an_undefined_macro_in_a_condition_is_quietly_empty() -> None:
    evaluation = run('!IF "$(MAYBE)" == ""\nX = empty\n!ENDIF\n')
    assert value(evaluation, "X") == "empty"
    assert evaluation.diagnostics == []


def test_predefined_macros_of_a_project() -> None:
    text = (
        "TARGETTYPE = NOTARGET\nR = $(PROJROOT)\nP = $(PROJECT_ROOT)\nOO = $(O)\nPUB = $(PUBLIC_ROOT)\n"
        "F = $(FLAVOR)-$(ARCH)-$(BUILD_PASS)\nREL = ..\\other\\$(O)\\x.lib\nFLAG = -I$(O)\nTIGHT=$(O)\n"
    )
    project = evaluate_project("projects/a", {"projects/a/sources": text.encode()}.get, CONTEXT).project
    macros = dict(project.macros)
    assert macros["R"] == "/enl"
    assert macros["P"] == "/enl/projects/a"
    assert macros["OO"] == "/enl/projects/a/obj/chk-amd64"
    assert macros["PUB"] == "/enl/public/chk-amd64"
    assert macros["F"] == "chk-amd64-PASS1"
    assert macros["REL"] == "..\\other\\obj/chk-amd64\\x.lib"  # $(O) after a separator: that dir's obj dir
    assert macros["FLAG"] == "-I/enl/projects/a/obj/chk-amd64"
    assert macros["TIGHT"] == "/enl/projects/a/obj/chk-amd64"


def test_only_allowed_host_variables_are_visible_and_descriptors_may_override_them() -> None:
    context = Context(root="/enl", config="chk-amd64", env={"BUILD_TAG": "nightly"})
    text = b"TARGETTYPE = NOTARGET\nA = $(BUILD_TAG)\nBUILD_TAG = mine\nB = $(BUILD_TAG)\nC = $(HOME)\n"
    evaluated = evaluate_project("p", {"p/sources": text}.get, context)
    macros = dict(evaluated.project.macros)
    assert (macros["A"], macros["B"], macros["C"]) == ("nightly", "mine", "")
    assert [d.message for d in evaluated.diagnostics] == ["undefined macro 'HOME' expands to nothing"]


def test_appendable_keys_start_defined_with_the_callers_defaults() -> None:
    context = Context(root="/enl", config="chk-amd64", predefined={"C_DEFINES": "-DTOOLCHAIN=zig"})
    text = (
        b"TARGETNAME = x\nTARGETTYPE = LIBRARY\nC_DEFINES = $(C_DEFINES) -DMINE\nINCLUDES = $(INCLUDES);inc\n"
    )
    evaluated = evaluate_project("p", {"p/sources": text}.get, context)
    assert [d.value for d in evaluated.project.defines] == ["-DTOOLCHAIN=zig", "-DMINE"]
    assert evaluated.diagnostics == ()


def test_package_macros_are_read_only_and_their_paths_stay_absolute() -> None:
    tree = "/cache/trees/ab12"
    context = Context(root="/enl", config="chk-amd64", predefined={"PkgRe2c": tree}, package_roots=(tree,))
    text = b"TARGETNAME = x\nTARGETTYPE = LIBRARY\nINCLUDES = $(PkgRe2c)\\include\n"
    evaluated = evaluate_project("p", {"p/sources": text}.get, context)
    assert [i.value for i in evaluated.project.includes] == ["/cache/trees/ab12/include"]
    with pytest.raises(DescriptorError, match="PkgRe2c is predefined"):
        evaluate_project("p", {"p/sources": b"PkgRe2c = /tmp\n"}.get, context)


def test_an_enlistment_whose_path_has_spaces_splits_correctly() -> None:
    context = Context(root="/home/me/My Projects/enl", config="chk-amd64")
    text = (
        b"TARGETNAME = x\nTARGETTYPE = LIBRARY\n"
        b"SOURCES = $(PROJROOT)\\p\\a.c b.c\nINCLUDES = $(PUBLIC_ROOT)\\inc\n"
    )
    project = evaluate_project("p", {"p/sources": text}.get, context).project
    assert [s.path for s in project.sources] == ["p/a.c", "p/b.c"]
    assert [i.value for i in project.includes] == ["public/chk-amd64/inc"]


def test_words_keep_quoted_stretches_together() -> None:
    text = Text.plain('-DA=1 "-DB=two words" -DC=\\"q\\" ""', Location("f", 3))
    assert [w for w, _ in words(text)] == ["-DA=1", "-DB=two words", '-DC="q"', ""]


def test_include_depth_is_bounded() -> None:
    files = {f"d/{i}.inc": f"!INCLUDE {i + 1}.inc\n".encode() for i in range(40)}
    files["d/sources"] = b"!INCLUDE 0.inc\n"
    macros = Macros({}, obj_relative="obj/chk-amd64")
    with pytest.raises(DescriptorError) as info:
        Evaluation(macros, files.get, PathPolicy("/enl")).run("d/sources")
    chain = " -> ".join(["d/sources", *(f"d/{i}.inc" for i in range(16))])
    assert info.value.render().splitlines()[0] == f"d/14.inc:1: !INCLUDE nested deeper than 16 files: {chain}"
