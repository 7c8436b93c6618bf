"""Hostile descriptors (issue 7, item 6): every one is a clear `file:line: message` and exit 2, in bounded
time and memory, never a traceback or a hang.

Each case changes a copy of the trio enlistment and names the first line of the error it must produce. It
runs twice: through `enlist graph` as a real child process whose address space and CPU time the kernel
limits (MEMORY_LIMIT, CPU_LIMIT: a bomb that escaped its bound would die there instead of exiting 2), and
through the loader API under tracemalloc, whose peak must stay under API_MEMORY. The bounds themselves are
the named constants of `enlist.descriptors.limits`.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from enlist import workspace
from enlist.descriptors import limits
from enlist.errors import EnlistError, InputErrors
from enlist.loader import load

TRIO = Path(__file__).parent / "data" / "descriptors" / "enlistments" / "trio"
AGENT = "projects/agent/sources"
HEAD = "TARGETNAME = agent\nTARGETTYPE = PROGRAM\n"  # hostile lines start at line 3
MEMORY_LIMIT = 512 << 20  # a normal `enlist graph` runs in under 200 MiB of address space
CPU_LIMIT = 60  # seconds; every case here takes well under one
API_MEMORY = 64 << 20  # peak of Python allocations while loading one hostile descriptor
MiB = 1 << 20


@dataclass(frozen=True)
class Enl:
    root: Path
    outside: Path  # a directory next to the enlistment, with a file and a project in it

    def write(self, path: str, text: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode() if isinstance(text, str) else text)
        return target

    def agent(self, text: str | bytes) -> None:
        self.write(AGENT, HEAD + text if isinstance(text, str) else HEAD.encode() + text)

    def link(self, path: str, target: Path | str) -> None:
        os.symlink(target, self.root / path)

    def sparse(self, path: str, size: int) -> None:
        with open(self.root / path, "wb") as f:
            f.truncate(size)


@pytest.fixture
def enl(tmp_path: Path) -> Enl:
    root = tmp_path / "trio"
    shutil.copytree(TRIO, root)
    outside = tmp_path / "outside"
    (outside / "proj").mkdir(parents=True)
    (outside / "secret.inc").write_text("SECRET = 1\n")
    (outside / "proj" / "sources").write_text("TARGETTYPE = NOTARGET\n")
    return Enl(root.resolve(), outside.resolve())


Setup = Callable[[Enl], str]  # changes the enlistment, returns the expected first line of the error


def simple(text: str, message: str) -> Setup:
    """A sources file whose line 3 is `text`; `{root}` in the message is the enlistment root."""

    def setup(e: Enl) -> str:
        e.agent(text)
        return f"{AGENT}:3: " + message.replace("{root}", e.root.as_posix())

    return setup


def chain(n: int) -> Setup:
    def setup(e: Enl) -> str:
        e.agent("!INCLUDE 0.inc\n")
        for i in range(n):
            e.write(f"projects/agent/{i}.inc", f"!INCLUDE {i + 1}.inc\n")
        files = [AGENT, *(f"projects/agent/{i}.inc" for i in range(16))]
        return f"projects/agent/14.inc:1: !INCLUDE nested deeper than 16 files: {' -> '.join(files)}"

    return setup


def escape(key: str, value: str, shown: str | None = None) -> Setup:
    def setup(e: Enl) -> str:
        e.agent(f"{key} = {value}\n")
        return f"{AGENT}:3: {key} entry '{shown or value}' is outside the enlistment"

    return setup


def include_link(e: Enl) -> str:
    e.link("projects/agent/evil.inc", e.outside / "secret.inc")
    e.agent("!INCLUDE evil.inc\n")
    return (
        f"{AGENT}:3: !INCLUDE 'projects/agent/evil.inc' leads outside the enlistment, "
        f"to {e.outside}/secret.inc, through a symbolic link"
    )


def include_through_linked_dir(e: Enl) -> str:
    e.link("projects/agent/shared", e.outside)
    e.agent("!INCLUDE shared\\secret.inc\n")
    return (
        f"{AGENT}:3: !INCLUDE 'projects/agent/shared/secret.inc' leads outside the enlistment, "
        f"to {e.outside}/secret.inc, through a symbolic link"
    )


def sources_link(e: Enl) -> str:
    (e.root / AGENT).unlink()
    e.link(AGENT, e.outside / "proj" / "sources")
    return (
        f"{AGENT}: '{AGENT}' leads outside the enlistment, "
        f"to {e.outside}/proj/sources, through a symbolic link"
    )


def dirs_link(e: Enl) -> str:
    e.link("projects/ext", e.outside / "proj")
    e.write("projects/dirs", "DIRS = replica tracker agent ext\n")
    return (
        f"projects/dirs:1: 'projects/ext' leads outside the enlistment, "
        f"to {e.outside}/proj, through a symbolic link"
    )


def doubling(e: Enl) -> str:
    e.agent("X = ab\n" + "X = $(X)$(X)\n" * 40)
    return f"{AGENT}:23: expansion grew over {limits.MAX_VALUE} characters"  # 2 << 20 at the 20th doubling


def huge_line(e: Enl) -> str:
    e.agent("X = " + "a" * (2 * MiB) + "\n")
    return f"{AGENT}:3: expansion grew over {limits.MAX_VALUE} characters"


def many_copies(e: Enl) -> str:
    e.agent("X = " + "a" * (1000 << 10) + "\n" + "".join(f"COPY{i} = $(X)b\n" for i in range(40)))
    return f"{AGENT}:19: expansions grew over {limits.MAX_EXPANSION} characters in all"  # at the 16th copy


def substitution_bomb(e: Enl) -> str:
    e.agent("X = " + "a" * 500_000 + "\nY = $(X:a=" + "b" * 2000 + ")\n")
    return f"{AGENT}:4: expansion grew over {limits.MAX_VALUE} characters"


def condition_bomb(e: Enl) -> str:
    e.agent("X = " + "a" * 900_000 + '\n!IF "' + "$(X)" * 4000 + '" == ""\n!ENDIF\n')
    return f"{AGENT}:4: expansion grew over {limits.MAX_VALUE} characters"


def many_references(e: Enl) -> str:
    e.agent("X = " + "$(UNDEFINED)" * (limits.MAX_REFERENCES + 10) + "\n")
    return f"{AGENT}:3: over {limits.MAX_REFERENCES} macro references expanded for one descriptor"


def self_include(e: Enl) -> str:
    e.agent("!INCLUDE sources\n")
    return f"{AGENT}:3: !INCLUDE cycle: {AGENT} -> {AGENT}"


def mutual_include(e: Enl) -> str:
    e.agent("!INCLUDE a.inc\n")
    e.write("projects/agent/a.inc", "A = 1\n!INCLUDE b.inc\n")
    e.write("projects/agent/b.inc", "B = 1\n!INCLUDE a.inc\n")
    cycle = "projects/agent/a.inc -> projects/agent/b.inc -> projects/agent/a.inc"
    return f"projects/agent/b.inc:2: !INCLUDE cycle: {cycle}"


def include_fan_out(e: Enl) -> str:
    e.agent("!INCLUDE a.inc\n" * 300)
    e.write("projects/agent/a.inc", "A = 1\n")
    line = 2 + limits.MAX_INCLUDES  # the descriptor is the first file read
    return f"{AGENT}:{line}: over {limits.MAX_INCLUDES} files read for one descriptor (every !INCLUDE counts)"


def too_many_lines(e: Enl) -> str:
    e.agent("!INCLUDE a.inc\n!INCLUDE a.inc\n")
    e.write("projects/agent/a.inc", "# a comment\n" * 60_000)
    return f"{AGENT}:4: over {limits.MAX_LINES} lines read for one descriptor (every !INCLUDE counts)"


def nul_byte(e: Enl) -> str:
    e.agent(b"A = 1\nB = \x002\n")
    return f"{AGENT}:4: binary data (a NUL byte) in a descriptor"


def bad_utf8_after_bom(e: Enl) -> str:
    e.write(AGENT, b"\xef\xbb\xbf" + HEAD.encode() + b"A = 1\nB = 2\nC = caf\xe9\n")
    return f"{AGENT}:5: not valid UTF-8"


def escape_sequence(e: Enl) -> str:
    e.agent("\x1b]0;owned\x07A = 1\n")
    return f"{AGENT}:3: binary data (control character U+001B) in a descriptor"


def random_bytes(e: Enl) -> str:
    e.agent(b"A = 1\n\xff" + random.Random(7).randbytes(64 << 10))
    return f"{AGENT}:4: not valid UTF-8"


def huge_descriptor(e: Enl) -> str:
    e.sparse(AGENT, 100 * MiB)
    return f"{AGENT}: file is too large (over {limits.MAX_FILE_BYTES} bytes)"


def huge_include(e: Enl) -> str:
    e.agent("!INCLUDE big.inc\n")
    e.sparse("projects/agent/big.inc", 100 * MiB)
    return f"{AGENT}:3: !INCLUDE 'projects/agent/big.inc': file is too large (over {limits.MAX_FILE_BYTES} bytes)"


def fifo_include(e: Enl) -> str:
    os.mkfifo(e.root / "projects/agent/pipe.inc")
    e.agent("!INCLUDE pipe.inc\n")
    return f"{AGENT}:3: !INCLUDE 'projects/agent/pipe.inc': is not a regular file (a device, a pipe or a socket)"


def socket_include(e: Enl) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(e.root / "projects/agent/s.inc"))
    e.agent("!INCLUDE s.inc\n")
    return f"{AGENT}:3: !INCLUDE 'projects/agent/s.inc': is not a regular file (a device, a pipe or a socket)"


def device_include(e: Enl) -> str:
    e.link("projects/agent/zero.inc", "/dev/zero")
    e.agent("!INCLUDE zero.inc\n")
    return f"{AGENT}:3: !INCLUDE 'projects/agent/zero.inc': is not a regular file (a device, a pipe or a socket)"


def deep_dirs(e: Enl) -> str:
    e.write("projects/dirs", "DIRS = replica tracker agent deep\n")
    path = "projects/deep"  # depth 2
    for _ in range(limits.MAX_DIRS_DEPTH):
        e.write(f"{path}/dirs", "DIRS = d\n")
        path += "/d"
    e.write(f"{path}/sources", "TARGETTYPE = NOTARGET\n")
    too_deep = "projects/deep" + "/d" * (limits.MAX_DIRS_DEPTH - 1)  # depth MAX_DIRS_DEPTH + 1
    parent = too_deep.rpartition("/")[0]
    return f"{parent}/dirs:1: '{too_deep}' is nested deeper than {limits.MAX_DIRS_DEPTH} directories below the root"


def huge_integer(e: Enl) -> str:
    e.agent("!IF " + "9" * 5000 + " > 1\n!ENDIF\n")
    shown = "9" * 98 + "..." + "9" * 98
    return f"{AGENT}:3: integer '{shown}' has more than {limits.MAX_INTEGER_DIGITS} digits"


def many_entries(e: Enl) -> str:
    e.agent("SOURCES = " + " ".join(f"f{i}.c" for i in range(limits.MAX_ITEMS + 10)) + "\n")
    return f"{AGENT}:3: over {limits.MAX_ITEMS} list entries in one descriptor (at SOURCES)"


def many_macros(e: Enl) -> str:
    e.agent("".join(f"M{i} = {i}\n" for i in range(limits.MAX_MACROS + 1)))
    line = 1 + limits.MAX_MACROS  # TARGETNAME and TARGETTYPE are two of them
    return f"{AGENT}:{line}: over {limits.MAX_MACROS} macros assigned by one descriptor and its includes"


CASES: dict[str, Setup] = {
    "include an absolute path": simple("!INCLUDE /etc/passwd\n", "!INCLUDE '/etc/passwd' is outside the enlistment"),
    "include through ..": simple(
        "!INCLUDE ..\\..\\..\\secret.inc\n", "!INCLUDE '..\\..\\..\\secret.inc' is outside the enlistment"
    ),
    "include a symbolic link that points outside": include_link,
    "include through a linked directory": include_through_linked_dir,
    "a sources file that is a link outside": sources_link,
    "a DIRS entry that is a link outside": dirs_link,
    "SOURCES through ..": escape("SOURCES", "..\\..\\..\\x.c"),
    "INCLUDES through ..": escape("INCLUDES", "..\\..\\..\\inc"),
    "TARGETLIBS through ..": escape("TARGETLIBS", "..\\..\\..\\x.lib"),
    "publish source through ..": simple(
        "PASS1_PUBLISH = {..\\..\\..\\x.h=$(PUBLIC_ROOT)\\inc\\x.h}\n",
        "PASS1_PUBLISH entry '..\\..\\..\\x.h' is outside the enlistment",
    ),
    "publish destination through ..": simple(
        "PASS1_PUBLISH = {x.h=$(PUBLIC_ROOT)\\..\\..\\..\\x.h}\n",
        "PASS1_PUBLISH entry '{root}/public/chk-amd64\\..\\..\\..\\x.h' is outside the enlistment",
    ),
    "TEST_PROGRAMS through ..": escape("TEST_PROGRAMS", "..\\..\\..\\t.exe"),
    "a path from $(PROJROOT) through ..": simple(
        "SOURCES = $(PROJROOT)\\..\\x.c\n", "SOURCES entry '{root}\\..\\x.c' is outside the enlistment"
    ),
    "a doubling macro": doubling,
    "a single huge line": huge_line,
    "many copies of a large value": many_copies,
    "a substitution bomb": substitution_bomb,
    "a condition bomb": condition_bomb,
    "100,010 macro references": many_references,
    "a file that includes itself": self_include,
    "mutual includes": mutual_include,
    "a chain of 20 includes": chain(20),
    "one file included 300 times": include_fan_out,
    "120,000 lines through includes": too_many_lines,
    "a NUL byte": nul_byte,
    "bad UTF-8 after a byte-order mark": bad_utf8_after_bom,
    "a terminal escape sequence": escape_sequence,
    "random bytes": random_bytes,
    "a 100 MB descriptor": huge_descriptor,
    "a 100 MB include": huge_include,
    "include a FIFO": fifo_include,
    "include a socket": socket_include,
    "include a device": device_include,
    "dirs nested 65 deep": deep_dirs,
    "a 5000-digit integer": huge_integer,
    "50,010 SOURCES": many_entries,
    "10,001 macros": many_macros,
}


def limited() -> None:
    """In the child: the kernel refuses memory over MEMORY_LIMIT and stops it after CPU_LIMIT seconds."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT))


def enlist_graph(root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ENLIST_ROOT", "ENLIST_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "enlist", "graph"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=limited,
        timeout=600,
    )


def load_measured(root: Path, *, use_cache: bool = False) -> tuple[EnlistError | None, int]:
    """Load through the API; return the error (if any) and the peak of Python allocations."""
    tracemalloc.start()
    try:
        load(workspace.load(root), "chk-amd64", use_cache=use_cache)
        error = None
    except EnlistError as e:
        error = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


@pytest.mark.parametrize("case", list(CASES))
def test_enlist_graph_refuses_it(enl: Enl, case: str) -> None:
    expected = CASES[case](enl)
    result = enlist_graph(enl.root)
    assert "Traceback" not in result.stderr
    assert (result.returncode, result.stderr.splitlines()[0]) == (2, expected)
    assert result.stdout == ""


@pytest.mark.parametrize("case", list(CASES))
def test_the_loader_refuses_it(enl: Enl, case: str) -> None:
    expected = CASES[case](enl)
    error, peak = load_measured(enl.root)
    assert error is not None and error.code == 2
    assert error.render().splitlines()[0] == expected
    assert peak < API_MEMORY


def test_every_hint_says_what_to_do(enl: Enl) -> None:
    doubling(enl)
    result = enlist_graph(enl.root)
    assert result.stderr.splitlines()[1] == "  hint: is a macro appended to itself again and again, or doubled?"


def test_a_huge_file_replacing_a_cached_descriptor_is_refused_without_being_read(enl: Enl) -> None:
    settings = workspace.load(enl.root)
    assert not load(settings, "chk-amd64").from_cache
    enl.sparse(AGENT, 100 * MiB)
    error, peak = load_measured(enl.root, use_cache=True)  # the cache's records no longer hold
    assert error is not None
    assert error.render().splitlines()[0] == f"{AGENT}: file is too large (over {limits.MAX_FILE_BYTES} bytes)"
    assert peak < API_MEMORY


def test_after_50_bad_descriptors_the_load_stops(enl: Enl) -> None:
    names = [f"p{i:02}" for i in range(60)]
    enl.write("projects/dirs", "DIRS = replica tracker agent many\n")
    enl.write("projects/many/dirs", "DIRS = " + " ".join(names) + "\n")
    for name in names:
        enl.write(f"projects/many/{name}/sources", "X = $(X)$(X\n")
    error, _ = load_measured(enl.root)
    assert isinstance(error, InputErrors)
    assert len(error.errors) == limits.MAX_ERRORS
    result = enlist_graph(enl.root)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if not line.startswith("  hint")]
    assert lines[0] == "projects/many/p00/sources:1: unterminated macro reference '$(X'"
    assert len(lines) == limits.MAX_ERRORS


def test_warnings_are_capped_with_a_note(enl: Enl) -> None:
    enl.agent("".join(f"V{i} = $(UNDEFINED{i:03})\n" for i in range(150)))
    result = enlist_graph(enl.root)
    assert result.returncode == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith(AGENT)]
    assert warnings[:2] == [
        f"{AGENT}: warning: over {limits.MAX_DIAGNOSTICS} warnings and messages; only the first "
        f"{limits.MAX_DIAGNOSTICS} are shown",
        f"{AGENT}:3: warning: undefined macro 'UNDEFINED000' expands to nothing",
    ]
    assert len(warnings) == limits.MAX_DIAGNOSTICS + 1


def test_a_repeated_warning_is_reported_once(enl: Enl) -> None:
    enl.agent("X = " + "$(NOPE)" * 1000 + "\n")
    loaded = load(workspace.load(enl.root), "chk-amd64")
    assert [d.render() for d in loaded.diagnostics] == [
        f"{AGENT}:3: warning: undefined macro 'NOPE' expands to nothing"
    ]


def many_projects(enl: Enl, count: int, text: str) -> None:
    names = [f"p{i:02}" for i in range(count)]
    enl.write("projects/dirs", "DIRS = replica tracker agent many\n")
    enl.write("projects/many/dirs", "DIRS = " + " ".join(names) + "\n")
    for name in names:
        enl.write(f"projects/many/{name}/sources", "TARGETTYPE = NOTARGET\n" + text)


# 32,768 entries kept from a 250-byte file: the 31st such project crosses MAX_LOAD_ITEMS
ENTRIES = "D = -Da\n" + "D = $(D) $(D)\n" * 15 + "C_DEFINES = $(D)\n"
# 13 MiB of macro text kept for the planner: the 5th such project crosses MAX_LOAD_TEXT
MACROS = "D = " + "a" * 16 + "\n" + "D = $(D)$(D)\n" * 16 + "".join(f"K{i} = $(D)\n" for i in range(12))


@pytest.mark.parametrize(
    ("text", "count", "crossing", "what"),
    [
        (ENTRIES, 32, "p30", f"over {limits.MAX_LOAD_ITEMS} list entries"),
        (MACROS, 6, "p04", f"over {limits.MAX_LOAD_TEXT} characters of macros"),
    ],
    ids=["list entries", "macro text"],
)
def test_what_all_the_projects_keep_is_bounded(enl: Enl, text: str, count: int, crossing: str, what: str) -> None:
    """The memory bound is the child's MEMORY_LIMIT (tracemalloc would make a million entries slow)."""
    many_projects(enl, count, text)
    expected = (
        f"projects/many/{crossing}/sources: the projects of this enlistment keep {what} in all; "
        "the load stops at this one"
    )
    result = enlist_graph(enl.root)
    assert (result.returncode, result.stderr.splitlines()[0]) == (2, expected)
    with pytest.raises(EnlistError) as info:
        load(workspace.load(enl.root), "chk-amd64", use_cache=False)
    assert info.value.render().splitlines()[0] == expected
