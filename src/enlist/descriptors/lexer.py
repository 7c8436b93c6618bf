"""Lexer for `dirs` and `sources` files: bytes -> statements (L1, pure).

The nmake subset of DESIGN.md §4, line by line:

    # a comment, to the end of the line (write ^# for a literal #)
    NAME = value                      an assignment; spaces around `=` are optional
    SOURCES = \\                       a trailing backslash continues the line (it becomes one space)
        a.c \\
    #   b.c \\                         a comment-only line inside a continued list is skipped
        c.c \\
                                      a blank line ends a list that ends with a backslash (WDK style)
    !IF "$(FLAVOR)" == "chk"          a directive: `!` then a case-insensitive name and its argument
    !ENDIF

Each statement keeps the physical line of every stretch of its text (`Logical.starts`), so an error about the
third entry of a continued list points at the third line. The lexer knows nothing of macros: `$(...)` is plain
text here.
"""

from __future__ import annotations

import bisect
import operator
import re
from dataclasses import dataclass

from enlist.descriptors.limits import MAX_FILE_BYTES
from enlist.errors import DescriptorError, Location

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*)\s*=(.*)", re.DOTALL)
DIRECTIVES = (
    "INCLUDE",
    "IF",
    "IFDEF",
    "IFNDEF",
    "ELSEIF",
    "ELSEIFDEF",
    "ELSEIFNDEF",
    "ELSE",
    "ENDIF",
    "UNDEF",
    "MESSAGE",
    "ERROR",
)
DIRECTIVE_RE = re.compile(r"!\s*([A-Za-z]+)(?:\s+(IF|IFDEF|IFNDEF)\b)?(.*)", re.DOTALL | re.IGNORECASE)

FIRST = operator.itemgetter(0)
BOM = b"\xef\xbb\xbf"
# C0 controls but tab, LF, VT, FF, CR; DEL; C1 controls. Refused: they are binary data, and echoed in an
# error message they would be terminal escape sequences.
CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Logical:
    """One statement: its text with continuations joined, and where each physical line starts in that text."""

    file: str
    text: str
    starts: tuple[tuple[int, int], ...]  # (offset in text, physical line number), ascending

    @property
    def line(self) -> int:
        return self.starts[0][1]

    @property
    def location(self) -> Location:
        return Location(self.file, self.line)

    def location_at(self, offset: int) -> Location:
        i = bisect.bisect_right(self.starts, offset, key=FIRST) - 1
        return Location(self.file, self.starts[max(i, 0)][1])


@dataclass(frozen=True, slots=True)
class Assignment:
    name: str
    logical: Logical
    value_offset: int  # where the value starts in `logical.text`


@dataclass(frozen=True, slots=True)
class Directive:
    name: str  # upper case, `ELSE IF` normalised to `ELSEIF`
    logical: Logical
    argument_offset: int


Statement = Assignment | Directive


def decode(data: bytes, file: str) -> str:
    """The text of a descriptor, with LF line ends; refuses a file over MAX_FILE_BYTES, and binary data (NUL
    and other control characters but tab, form feed and vertical tab) or bytes that are not UTF-8 at the
    line of the first bad one."""
    if len(data) > MAX_FILE_BYTES:
        raise DescriptorError(
            f"file is too large (over {MAX_FILE_BYTES} bytes)",
            location=Location(file),
            hint="descriptors are small text files; is this the right file?",
        )
    body = data[len(BOM) :] if data.startswith(BOM) else data
    try:
        text = _lines(body.decode("utf-8"))
    except UnicodeDecodeError as e:
        valid = _lines(body[: e.start].decode("utf-8"))
        _refuse_control(valid, file)
        raise DescriptorError(
            "not valid UTF-8", location=Location(file, valid.count("\n") + 1), hint="save the file as UTF-8"
        ) from e
    _refuse_control(text, file)
    return text


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _refuse_control(text: str, file: str) -> None:
    found = CONTROL_RE.search(text)
    if found is None:
        return
    char = found.group()
    what = "a NUL byte" if char == "\0" else f"control character U+{ord(char):04X}"
    raise DescriptorError(
        f"binary data ({what}) in a descriptor",
        location=Location(file, text.count("\n", 0, found.start()) + 1),
        hint="a descriptor is a UTF-8 text file; is this the right file?",
    )


def strip_comment(line: str) -> str:
    """Drop a `#` comment; `^#` is a literal `#`."""
    hash_ = line.find("#")
    if hash_ < 0:
        return line
    out: list[str] = []
    start = 0
    while hash_ >= 0:
        if hash_ > start and line[hash_ - 1] == "^":
            out.append(line[start : hash_ - 1] + "#")
            start = hash_ + 1
            hash_ = line.find("#", start)
            continue
        out.append(line[start:hash_])
        return "".join(out)
    out.append(line[start:])
    return "".join(out)


def logical_lines(text: str, file: str) -> list[Logical]:
    """Join continued lines; skip blank and comment-only lines outside a continuation."""
    result: list[Logical] = []
    parts: list[str] = []
    starts: list[tuple[int, int]] = []
    size = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        is_comment_line = raw.lstrip().startswith("#")
        body = strip_comment(raw).rstrip()
        if parts and is_comment_line:
            continue  # a commented-out entry inside a continued list
        continued = body.endswith("\\")
        if continued:
            body = body[:-1]
        if parts:
            parts.append(" ")
            size += 1
        if body.strip() or parts:
            starts.append((size, number))
            parts.append(body)
            size += len(body)
        if continued:
            continue
        if parts:
            joined = "".join(parts)
            if joined.strip():
                result.append(Logical(file, joined, tuple(starts)))
            parts, starts, size = [], [], 0
    if parts and "".join(parts).strip():
        result.append(Logical(file, "".join(parts), tuple(starts)))
    return result


def classify(logical: Logical) -> Statement:
    text = logical.text
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    if stripped.startswith("!"):
        match = DIRECTIVE_RE.match(stripped)
        if match:
            name = match.group(1).upper()
            if name == "ELSE" and match.group(2):
                name = "ELSE" + match.group(2).upper()
            if name in DIRECTIVES:
                return Directive(name, logical, lead + match.start(3))
        word = stripped[1:].split(maxsplit=1)[0] if stripped[1:].strip() else ""
        raise DescriptorError(
            f"unknown directive '!{word}'",
            location=logical.location,
            hint="one of !INCLUDE, !IF, !IFDEF, !IFNDEF, !ELSEIF, !ELSE, !ENDIF, !UNDEF, !MESSAGE, !ERROR",
        )
    match = ASSIGN_RE.match(stripped)
    if match:
        return Assignment(match.group(1), logical, lead + match.start(2))
    raise DescriptorError(
        f"expected NAME = value or a !directive, found '{_excerpt(stripped)}'",
        location=logical.location,
        hint=_hint_for(stripped),
    )


def _excerpt(text: str) -> str:
    first = text.split("\n", 1)[0]
    return first if len(first) <= 40 else first[:37] + "..."


def _hint_for(text: str) -> str:
    if re.match(r"[^=\s]+\s*:", text):
        return "rules (target: dependencies) belong to the planner, not to dirs/sources files"
    if "=" in text:
        return "a macro name is letters, digits, '_' and '.', starting with a letter or '_'"
    return "did a previous line end with a backslash that you did not mean, or miss one?"


def statements(data: bytes, file: str) -> list[Statement]:
    return [classify(logical) for logical in logical_lines(decode(data, file), file)]
