"""The bounds on what one descriptor, and one load, may cost (L1; imports nothing).

A descriptor comes from whoever wrote the change being built, so a bad one (a runaway macro, an include
loop, a binary file checked in by mistake, or one written on purpose to hurt a build machine) must end in a
clear `file:line:` error, in bounded time and memory, never a hang, a swap storm or a traceback. Real
descriptors are a few kB and stay far below every bound here (the largest WDK-style `sources` files are
about 100 kB).

An *evaluation* is one `dirs` or `sources` file with every file it includes, for one pass (a file that tests
`$(BUILD_PASS)` is evaluated once per pass). Its bounds, each checked before the work it bounds is done:

    MAX_FILE_BYTES      4 MiB    one file (refused by its size before it is read)
    MAX_INCLUDE_DEPTH   16       files open at once: the descriptor and its nested !INCLUDEs
    MAX_INCLUDES        256      files read, counting every inclusion (a file included twice counts twice)
    MAX_LINES           100,000  physical lines read, counting every inclusion
    MAX_BYTES           16 MiB   bytes read, counting every inclusion
    MAX_VALUE           1 MiB    characters of one expansion (a macro value, a !MESSAGE, a condition operand)
    MAX_EXPANSION       16 Mi    characters produced by all the expansions, where each piece of a value that
                                 comes from another line (a mark, kept for error messages) counts MARK_COST
    MAX_REFERENCES      100,000  `$(NAME)` references and `$` signs expanded
    MAX_MACROS          10,000   distinct macro names assigned
    MAX_DIAGNOSTICS     100      warnings and !MESSAGEs kept (then one line says that there were more)

and, per project, MAX_ITEMS (50,000) entries in all the lists of its `sources` file (SOURCES, INCLUDES,
TARGETLIBS, ...): the size of the project model that the graph and the planner work on.

What a load keeps is bounded too, because a small descriptor can make a large model (a 250-byte file that
doubles a macro keeps 32,768 entries) and a load keeps every project's:

    MAX_LOAD_ITEMS      1,000,000  list entries kept by all the projects (about 100 MB)
    MAX_LOAD_TEXT       64 Mi      characters of the other macros kept for the planner, all projects

and, per construct or per run:

    MAX_CONDITION_TOKENS 4,096   tokens in one !IF condition
    MAX_CONDITION_DEPTH  64      nesting of parentheses and `!` in one condition
    MAX_INTEGER_DIGITS   32      digits of an integer in a condition
    MAX_DIRS_DEPTH       64      directories from the root to a project through dirs files
    MAX_ERRORS           50      bad descriptors reported by one load; evaluation stops there
    MAX_QUOTE            200     characters of descriptor text quoted in one error message
    MAX_MESSAGE          1,000   characters of a !MESSAGE or !ERROR text shown (the rest is counted)

Together they bound one descriptor, all four passes, to about 2 s of CPU and 100 MB: measured by
`bench/hostile_descriptors.py` with a descriptor near every bound at once; a file that crosses one bound is
refused in a tenth to half a second. `tests/test_hostile_descriptors.py` runs each case under an
address-space limit.
"""

from __future__ import annotations

MAX_FILE_BYTES = 4 << 20
MAX_INCLUDE_DEPTH = 16
MAX_INCLUDES = 256
MAX_LINES = 100_000
MAX_BYTES = 16 << 20
MAX_VALUE = 1 << 20
MAX_EXPANSION = 16 << 20
MARK_COST = 32  # a mark is a (offset, Location) pair: about as much memory as 32 ASCII characters, more time
MAX_REFERENCES = 100_000
MAX_MACROS = 10_000
MAX_ITEMS = 50_000
MAX_LOAD_ITEMS = 1_000_000
MAX_LOAD_TEXT = 64 << 20
MAX_DIAGNOSTICS = 100

MAX_CONDITION_TOKENS = 4096
MAX_CONDITION_DEPTH = 64
MAX_INTEGER_DIGITS = 32
MAX_DIRS_DEPTH = 64
MAX_ERRORS = 50
MAX_QUOTE = 200
MAX_MESSAGE = 1000


def quote(text: str) -> str:
    """`text` as an error message quotes it: at most MAX_QUOTE characters, its start and its end (the end
    of a long path names the file)."""
    if len(text) <= MAX_QUOTE:
        return text
    half = (MAX_QUOTE - 3) // 2
    return f"{text[:half]}...{text[-half:]}"
