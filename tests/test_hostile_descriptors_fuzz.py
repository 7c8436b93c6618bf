"""Fuzzing the descriptor lexer, evaluator, walk and graph with hypothesis: whatever the input, the only
exception that may escape is an EnlistError (a clear `file:line:` error), and an input that evaluates
evaluates the same way twice. Time and memory are bounded by `enlist.descriptors.limits`, whatever the
fuzzer builds, so every example is fast; no deadline, because a loaded CI machine must not make them flaky.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enlist.descriptors import lexer
from enlist.descriptors.context import Context
from enlist.descriptors.enlistment import evaluate_enlistment
from enlist.descriptors.sources import evaluate_project
from enlist.descriptors.text import Text, _words_slowly, words
from enlist.errors import DescriptorError, EnlistError, Location
from enlist.graph.edges import build_graph
from fake_tree import FakeTree

CONTEXT = Context(
    root="/enl",
    config="chk-amd64",
    predefined={"PkgTool": "/pkg/tool", "SDK_INC_PATH": "/pkg/sdk/inc"},
    env={"BUILD_TAG": "ci"},
    package_roots=("/pkg/tool", "/pkg/sdk"),
    generators={".re": "re2c"},
)
FRAGMENTS = [
    # macros and their syntax
    "$(", "$(X", ")", "$(X)", "$(Y)", "$(X:a=bb)", "$(X:=)", "$(X:a=)", "$(:a=b)", "$()", "$$", "$", "$$(X)",
    "$(O)", "$(PROJROOT)", "$(PUBLIC_ROOT)", "$(PROJECT_ROOT)", "$(BUILD_PASS)", "$(PkgTool)", "$(BUILD_TAG)",
    "$($(X))", "X", "Y", "X =", "Y=", " = ", "=", ":", "X = $(X)$(X)", "X = $(X) more",
    # lines, comments, quotes
    "\n", "\n", "\n", "\\\n", "\\", "\r\n", "\r", " ", "\t", "#", "^#", "^", '"', '\\"', "\f",
    # directives and conditions
    "!", "!IF ", "!ELSEIF ", "!ELSE IF ", "!IFDEF X", "!IFNDEF Y", "!ELSEIFDEF X", "!ELSE", "!ENDIF",
    "!UNDEF X", "!UNDEF O", "!MESSAGE ", "!ERROR ", "!INCLUDE ", "!INCLUDE a.inc", "!include \"b.inc\"",
    "!INCLUDE <x.inc>", "!INCLUDE $(PkgTool)\\defs.inc", "!BOGUS", "defined(X)", "defined(", "EXIST(x)",
    "0x", "0x1F", "-1", "+7", "9" * 40, "==", "!=", "<", "<=", ">", ">=", "&&", "||", "(", ")",
    # keys
    "SOURCES =", "TARGETTYPE = LIBRARY", "TARGETTYPE = PROGRAM", "TARGETTYPE = NOTARGET", "TARGETTYPE = DLL",
    "TARGETNAME = t", "TARGETNAME =", "INCLUDES =", "TARGETLIBS =", "C_DEFINES = -DX", "USER_C_FLAGS =",
    "PASS0_PUBLISH =", "PASS1_PUBLISH = {$(O)\\t.lib=$(PUBLIC_ROOT)\\lib\\t.lib}", "PASS2_PUBLISH = {a=b}",
    "{", "}", "{a=}", "TEST_PROGRAMS =", "TEST_ARGS =", "BUILD_PRODUCES = t", "BUILD_CONSUMES = t", "SOURCE =",
    # paths and words
    "a.c", "b.re", "x.lib", "x.dll", "t.exe", "..", "..\\..\\..", "/", "/abs", "C:\\x", "//", ";", "*",
    # text that is not ASCII, or not text
    "é", "\u2028", "\ufeff", "\x00", "\x1b", "\x85", "\udcff",
]
TEXT = st.lists(st.sampled_from(FRAGMENTS), max_size=80).map("".join)
# Lines that parse, most of the time, so that the fuzzer gets past the lexer into evaluation and the model.
INLINE = st.lists(st.sampled_from([f for f in FRAGMENTS if "\n" not in f and "\r" not in f]), max_size=8).map(
    "".join
)
NAMES = st.sampled_from(["X", "Y", "SOURCES", "INCLUDES", "TARGETLIBS", "TARGETNAME", "TARGETTYPE", "C_DEFINES",
                         "PASS0_PUBLISH", "PASS2_PUBLISH", "TEST_PROGRAMS", "TEST_ARGS", "BUILD_CONSUMES", "O"])
LINE = st.one_of(
    st.builds("{} = {}".format, NAMES, INLINE),
    st.builds("{} = $({}) {}".format, NAMES, NAMES, INLINE),
    st.builds("!IF {}".format, INLINE),
    st.builds("!IFDEF {}".format, NAMES),
    st.sampled_from(["!ELSE", "!ENDIF", "!ENDIF", "!INCLUDE a.inc", "!INCLUDE b.inc", "!UNDEF X"]),
    st.builds("!MESSAGE {}".format, INLINE),
    INLINE,
)
LINES = st.lists(LINE, max_size=30).map(lambda lines: "TARGETTYPE = LIBRARY\nTARGETNAME = t\n" + "\n".join(lines))
GOOD = sorted((Path(__file__).parent / "data" / "descriptors" / "good").glob("*.sources"))


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")  # a lone surrogate becomes a byte that is not UTF-8


def evaluate(files: dict[str, str]) -> object:
    """Evaluate project `p`; an EnlistError is a fine outcome, anything else escapes and fails the test."""
    data = {path: encode(text) for path, text in files.items()}
    try:
        evaluated = evaluate_project("p", data.get, CONTEXT)
    except EnlistError as e:
        return ("error", e.render())
    return (evaluated.project, evaluated.diagnostics, evaluated.files)


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=4096))
def test_any_bytes_lex_or_are_refused(data: bytes) -> None:
    try:
        lexer.statements(data, "f")
    except DescriptorError as e:
        assert e.render().startswith("f")


@settings(deadline=None, max_examples=200)
@given(st.text(max_size=2000))
def test_any_text_evaluates_or_is_refused(text: str) -> None:
    evaluate({"p/sources": text})


@settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, TEXT, TEXT)
def test_descriptors_made_of_hostile_fragments_evaluate_or_are_refused(sources: str, a: str, b: str) -> None:
    files = {"p/sources": sources, "p/a.inc": a, "p/b.inc": b}
    assert evaluate(files) == evaluate(files)  # and the same way twice


@settings(deadline=None, max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(LINES, LINES, LINES)
def test_descriptors_of_hostile_lines_evaluate_or_are_refused(sources: str, a: str, b: str) -> None:
    files = {"p/sources": sources, "p/a.inc": a, "p/b.inc": b}
    assert evaluate(files) == evaluate(files)


@settings(deadline=None, max_examples=300)
@given(st.sampled_from(GOOD), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 3), TEXT), max_size=6))
def test_mutated_good_descriptors_evaluate_or_are_refused(
    case: Path, edits: list[tuple[float, int, str]]
) -> None:
    text = case.read_text()
    for where, cut, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + cut :]
    evaluate({"p/sources": text})


@settings(deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, TEXT, TEXT)
def test_enlistments_of_hostile_fragments_load_or_are_refused(dirs: str, one: str, two: str) -> None:
    files = {"dirs": "DIRS = one two\n" + dirs, "one/sources": one, "two/sources": two}
    tree = FakeTree(dict.fromkeys(files, ""))
    tree.files = {path: encode(text) for path, text in files.items()}
    try:
        enlistment = evaluate_enlistment(tree, CONTEXT)
        build_graph(enlistment.projects, config=CONTEXT.config)
    except EnlistError:
        pass


WORD_CHARS = st.sampled_from(["a", "b", " ", "\t", "\u00a0", '"', "\\", ";", "/", "/r o", "/r", " o", "$", "é"])
ROOTS = st.sampled_from([(), ("/r o",), ("/r o", "/p k"), ("/p k", "/r o/x y")])


@settings(deadline=None, max_examples=1000)
@given(st.lists(WORD_CHARS, max_size=40).map("".join), st.sampled_from(["", ";"]), ROOTS, st.data())
def test_words_split_by_regex_as_the_character_loop_does(
    value: str, separators: str, protect: tuple[str, ...], data: st.DataObject
) -> None:
    offsets = sorted(set(data.draw(st.lists(st.integers(0, max(len(value) - 1, 0)), max_size=4))))
    text = Text(value, tuple((offset, Location("f", line)) for line, offset in enumerate(offsets, start=1)))
    assert list(words(text, separators, protect)) == list(_words_slowly(text, separators, protect))
