"""Run the statements of a descriptor over a macro table (L1, pure).

The evaluator knows the directives and nothing of `sources` keys: `!INCLUDE` (relative to the including file,
into the enlistment or a package tree only, at most 16 deep, no cycles), `!IF`/`!ELSEIF`/`!ELSE`/`!ENDIF`
(also `!IFDEF`, `!IFNDEF`, `!ELSEIFDEF`, `!ELSEIFNDEF`, `!ELSE IF`), `!UNDEF`, `!MESSAGE` (collected as data)
and `!ERROR` (an error at its line). Conditionals must balance within each file. Lines inside a branch not
taken are not evaluated, so they may use macros that are undefined there.

It reads files only through the `read` function it is given: `read(path)` returns the bytes, or None when
there is no such file (or raises `tree.Escape` for a file that leads outside). `path` is enlistment-relative,
or absolute inside a package tree.

An evaluation is bounded (`limits`): it reads at most MAX_INCLUDES files, MAX_LINES lines and MAX_BYTES
bytes (every inclusion counts), nests at most MAX_INCLUDE_DEPTH files, and keeps at most MAX_DIAGNOSTICS
distinct warnings and messages.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from enlist.descriptors import lexer
from enlist.descriptors.expression import evaluate as evaluate_condition
from enlist.descriptors.lexer import Assignment, Directive, Logical
from enlist.descriptors.limits import (
    MAX_BYTES,
    MAX_DIAGNOSTICS,
    MAX_INCLUDE_DEPTH,
    MAX_INCLUDES,
    MAX_LINES,
    MAX_MESSAGE,
    quote,
)
from enlist.descriptors.macros import Macros, expand
from enlist.descriptors.paths import PathPolicy
from enlist.descriptors.text import Text, slice_text
from enlist.descriptors.tree import Escape
from enlist.errors import DescriptorError, Location
from enlist.model.diagnostic import Diagnostic, Severity

Reader = Callable[[str], bytes | None]
CONDITIONALS = ("IF", "IFDEF", "IFNDEF")
BLANKS_RE = re.compile(r"\s*")


@dataclass(slots=True)
class Frame:
    """One open conditional: is its parent active, is this branch taken, was a branch taken already."""

    parent_active: bool
    taking: bool
    done: bool
    location: Location
    else_location: Location | None = None


@dataclass(slots=True)
class Evaluation:
    """The state shared by a descriptor and every file it includes."""

    macros: Macros
    read: Reader
    paths: PathPolicy
    strict: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)  # distinct, at most MAX_DIAGNOSTICS
    truncated: bool = False  # more diagnostics were dropped
    files: list[str] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    reads: int = 0  # files read, lines and bytes: every inclusion counts (MAX_INCLUDES, MAX_LINES, MAX_BYTES)
    lines: int = 0
    bytes_read: int = 0
    _noted: set[tuple[Location, str, str]] = field(default_factory=set)

    def note(self, diagnostic: Diagnostic) -> None:
        if diagnostic.sort_key in self._noted:
            return
        if len(self._noted) >= MAX_DIAGNOSTICS:
            self.truncated = True
            return
        self._noted.add(diagnostic.sort_key)
        self.diagnostics.append(diagnostic)

    def undefined(self, name: str, location: Location) -> None:
        if self.strict:
            raise DescriptorError(
                f"undefined macro '{quote(name)}'",
                location=location,
                hint="define it or fix its spelling (without --strict it expands to nothing, with a warning)",
            )
        self.note(Diagnostic(location, Severity.WARNING, f"undefined macro '{quote(name)}' expands to nothing"))

    def expand(self, logical: Logical, start: int) -> Text:
        return expand(logical, self.macros, on_undefined=self.undefined, start=start)

    def run(self, path: str, *, included_from: Location | None = None) -> None:
        """Evaluate the file at `path` (already resolved)."""
        if path in self.stack:
            chain = " -> ".join([*self.stack[self.stack.index(path) :], path])
            raise DescriptorError(f"!INCLUDE cycle: {chain}", location=included_from)
        if len(self.stack) >= MAX_INCLUDE_DEPTH:
            raise DescriptorError(
                f"!INCLUDE nested deeper than {MAX_INCLUDE_DEPTH} files: {' -> '.join([*self.stack, path])}",
                location=included_from,
                hint="include common definitions from one file, not through a chain of files",
            )
        text = self._load(path, included_from)
        self.files.append(path)
        self.stack.append(path)
        frames: list[Frame] = []
        for logical in lexer.logical_lines(text, path):
            self._statement(logical, frames)
        if frames:
            raise DescriptorError("this conditional has no !ENDIF", location=frames[-1].location)
        self.stack.pop()

    def _load(self, path: str, included_from: Location | None) -> str:
        """The text of `path`, within the bounds of the evaluation."""
        where = included_from or Location(path)
        self.reads += 1
        if self.reads > MAX_INCLUDES:
            raise DescriptorError(
                f"over {MAX_INCLUDES} files read for one descriptor (every !INCLUDE counts)",
                location=where,
                hint="is a file included again and again? include common definitions once",
            )
        try:
            data = self.read(path)
        except Escape as e:
            what = f"!INCLUDE '{path}'" if included_from else f"'{path}'"
            raise DescriptorError(
                f"{what} leads outside the enlistment, to {e.real}, through a symbolic link",
                location=where,
                hint="a descriptor may read files of its enlistment and of restored packages only",
            ) from e
        except DescriptorError as e:  # the file itself is wrong (too large, a pipe): say who included it
            if included_from is None or e.location != Location(path):
                raise
            raise DescriptorError(f"!INCLUDE '{path}': {e.message}", location=where, hint=e.hint) from e
        if data is None:
            raise DescriptorError(f"cannot open '{path}': no such file", location=where)
        self.bytes_read += len(data)
        if self.bytes_read > MAX_BYTES:
            raise DescriptorError(
                f"over {MAX_BYTES} bytes read for one descriptor (every !INCLUDE counts)", location=where
            )
        text = lexer.decode(data, path)
        self.lines += text.count("\n") + (not text.endswith("\n"))
        if self.lines > MAX_LINES:
            raise DescriptorError(
                f"over {MAX_LINES} lines read for one descriptor (every !INCLUDE counts)",
                location=where,
                hint="descriptors are small; is a file much too large, or included again and again?",
            )
        return text

    def _statement(self, logical: Logical, frames: list[Frame]) -> None:
        active = frames[-1].taking if frames else True
        if not active:
            if logical.text.lstrip().startswith("!"):
                try:
                    statement = lexer.classify(logical)
                except DescriptorError:
                    return  # an unknown directive in a branch not taken is not evaluated
                if isinstance(statement, Directive):
                    self._conditional(statement, frames, active=False)
            return
        statement = lexer.classify(logical)
        if isinstance(statement, Assignment):
            self._assign(statement)
        elif not self._conditional(statement, frames, active=True):
            self._directive(statement)

    def _assign(self, statement: Assignment) -> None:
        # The blanks after `=` are not expanded, so they do not count against MAX_VALUE.
        blanks = BLANKS_RE.match(statement.logical.text, statement.value_offset)
        value = self.expand(statement.logical, blanks.end() if blanks else statement.value_offset)
        self.macros.assign(statement.name, strip(value), statement.logical.location)

    def _conditional(self, d: Directive, frames: list[Frame], *, active: bool) -> bool:
        """Handle an !IF-family directive; return False when `d` is not one."""
        name = d.name
        if name in CONDITIONALS:
            taking = active and self._condition(d, name)
            done = taking or not active
            frames.append(Frame(parent_active=active, taking=taking, done=done, location=d.logical.location))
            return True
        if name not in ("ELSEIF", "ELSEIFDEF", "ELSEIFNDEF", "ELSE", "ENDIF"):
            return False
        if not frames:
            raise DescriptorError(f"!{name} without !IF", location=d.logical.location)
        frame = frames[-1]
        if name == "ENDIF":
            frames.pop()
            return True
        if frame.else_location is not None:
            raise DescriptorError(
                f"!{name} after !ELSE",
                location=d.logical.location,
                hint=f"the !ELSE is at {frame.else_location}",
            )
        if name == "ELSE":
            frame.else_location = d.logical.location
            frame.taking = frame.parent_active and not frame.done
            frame.done = True
        else:
            frame.taking = (
                frame.parent_active and not frame.done and self._condition(d, name.removeprefix("ELSE"))
            )
            frame.done = frame.done or frame.taking
        return True

    def _condition(self, d: Directive, kind: str) -> bool:
        if kind == "IF":
            return evaluate_condition(d.logical, d.argument_offset, self.macros)
        name = _one_name(d)
        return self.macros.is_defined(name) == (kind == "IFDEF")

    def _directive(self, d: Directive) -> None:
        location = d.logical.location
        if d.name == "INCLUDE":
            self._include(d)
        elif d.name == "UNDEF":
            self.macros.undefine(_one_name(d), location)
        elif d.name == "MESSAGE":
            text = self.expand(d.logical, d.argument_offset).value.strip()
            self.note(Diagnostic(location, Severity.MESSAGE, _shorten(text)))
        elif d.name == "ERROR":
            text = self.expand(d.logical, d.argument_offset).value.strip()
            raise DescriptorError(_shorten(text) or "!ERROR", location=location)

    def _include(self, d: Directive) -> None:
        location = d.logical.location
        raw = self.expand(d.logical, d.argument_offset).value.strip()
        if raw.startswith("<"):
            raise DescriptorError(
                f"!INCLUDE {raw}: search paths are not supported",
                location=location,
                hint='write !INCLUDE "file"',
            )
        raw = raw.strip('"')
        if not raw:
            raise DescriptorError("!INCLUDE needs a file name", location=location)
        base = posixpath.dirname(d.logical.file)
        path = self.paths.resolve(raw, base, location, "!INCLUDE")
        self.run(path, included_from=location)


def _one_name(d: Directive) -> str:
    argument = d.logical.text[d.argument_offset :].strip()
    if not lexer.NAME_RE.fullmatch(argument):
        raise DescriptorError(
            f"!{d.name} takes one macro name, found '{quote(argument)}'", location=d.logical.location
        )
    return argument


def _shorten(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    return f"{text[:MAX_MESSAGE]}... ({len(text) - MAX_MESSAGE} more characters)"


def capped(diagnostics: Iterable[Diagnostic], truncated: bool, descriptor: str) -> tuple[Diagnostic, ...]:
    """Distinct diagnostics, sorted, at most MAX_DIAGNOSTICS of them, and then one that says there were more."""
    distinct = {d.sort_key: d for d in diagnostics}
    ordered = [distinct[k] for k in sorted(distinct)]
    if not truncated and len(ordered) <= MAX_DIAGNOSTICS:
        return tuple(ordered)
    more = Diagnostic(
        Location(descriptor),
        Severity.WARNING,
        f"over {MAX_DIAGNOSTICS} warnings and messages; only the first {MAX_DIAGNOSTICS} are shown",
    )
    return (more, *ordered[:MAX_DIAGNOSTICS])


def strip(text: Text) -> Text:
    value = text.value
    start = len(value) - len(value.lstrip())
    end = len(value.rstrip())
    if start == 0 and end == len(value):
        return text
    return slice_text(text, start, end)
