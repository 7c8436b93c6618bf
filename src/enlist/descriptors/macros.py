"""Macros and their expansion (L1, pure).

- `$(NAME)` is the value of NAME; `$(NAME:old=new)` that value with every `old` replaced by `new` (literal
  strings); `$$` is a literal `$`; any other `$` is itself.
- Expansion is eager: an assignment stores the expanded value, so `X = $(X) more` appends and a stored value
  is never rescanned (expansion is linear in the text written).
- Names are case-sensitive, as in nmake. Predefined macros (`$(O)`, `$(PROJROOT)`, packages, ...) are
  read-only.
- An undefined macro expands to nothing and is reported through `on_undefined` (a warning, or an error under
  `--strict`); conditions (`!IF`) pass `on_undefined=None` because `"$(X)" == ""` is the idiom for "X is
  empty".
- `$(O)` written right after a path separator (`..\\world\\$(O)\\world.lib`) means the `obj/<config>`
  directory of the directory before it, as in build.exe, where $(O) was relative; anywhere else it is this
  project's absolute $(O).
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from enlist.descriptors.lexer import Logical
from enlist.descriptors.text import Text, TextBuilder, substitute
from enlist.errors import DescriptorError, Location

MAX_VALUE = 1 << 20  # a macro value over 1 MiB is a runaway self-append, not a build description
OnUndefined = Callable[[str, Location], None]

FIRST = operator.itemgetter(0)


@dataclass(slots=True)
class Macros:
    """The macro table of one evaluation: predefined (read-only) values under descriptor assignments."""

    predefined: Mapping[str, str]
    obj_relative: str = ""  # `obj/<config>`: what $(O) means after a path separator
    values: dict[str, Text] = field(default_factory=dict)
    assigned: dict[str, Location] = field(default_factory=dict)  # names a descriptor wrote, and where
    looked_up: set[str] = field(default_factory=set)  # every name read, defined or not (BUILD_PASS detection)

    def is_defined(self, name: str) -> bool:
        self.looked_up.add(name)
        return name in self.values or name in self.predefined

    def get(self, name: str) -> Text | None:
        self.looked_up.add(name)
        value = self.values.get(name)
        if value is not None:
            return value
        fixed = self.predefined.get(name)
        return None if fixed is None else Text(fixed)

    def assign(self, name: str, value: Text, location: Location) -> None:
        self._check_writable(name, location)
        if len(value.value) > MAX_VALUE:
            raise DescriptorError(
                f"the value of {name} grew over {MAX_VALUE} characters",
                location=location,
                hint="is a macro appending to itself in a loop of !INCLUDEs?",
            )
        self.values[name] = value
        self.assigned[name] = location

    def undefine(self, name: str, location: Location) -> None:
        self._check_writable(name, location)
        self.values.pop(name, None)
        self.assigned.pop(name, None)

    def _check_writable(self, name: str, location: Location) -> None:
        if name in self.predefined:
            raise DescriptorError(
                f"{name} is predefined and cannot be changed",
                location=location,
                hint="choose another name for your macro",
            )


def expand(
    logical: Logical,
    macros: Macros,
    *,
    on_undefined: OnUndefined | None,
    start: int = 0,
    end: int | None = None,
) -> Text:
    """Expand the macro references in `logical.text[start:end]`, keeping the line of every stretch."""
    text = logical.text
    n = len(text) if end is None else end
    out = TextBuilder()
    i = start
    while i < n:
        dollar = text.find("$", i, n)
        if dollar < 0:
            _add_literal(out, logical, i, n)
            break
        _add_literal(out, logical, i, dollar)
        if text.startswith("$$", dollar):
            out.add("$", logical.location_at(dollar))
            i = dollar + 2
        elif text.startswith("$(", dollar):
            value, i = reference(logical, dollar, macros, on_undefined=on_undefined, out=out)
            out.add_text(value)
        else:
            out.add("$", logical.location_at(dollar))
            i = dollar + 1
        if out.size > MAX_VALUE:
            raise DescriptorError(
                f"expansion grew over {MAX_VALUE} characters", location=logical.location_at(dollar)
            )
    return out.build()


def _add_literal(out: TextBuilder, logical: Logical, start: int, end: int) -> None:
    """Add `text[start:end]`, cut where it crosses into the next physical line."""
    if start >= end:
        return
    starts = logical.starts
    if len(starts) == 1:  # most statements are one line
        out.add(logical.text[start:end], Location(logical.file, starts[0][1]))
        return
    i = max(bisect.bisect_right(starts, start, key=FIRST) - 1, 0)
    while start < end:
        cut = starts[i + 1][0] if i + 1 < len(starts) else end
        cut = min(max(cut, start + 1), end)
        out.add(logical.text[start:cut], Location(logical.file, starts[i][1]))
        start = cut
        i += 1


def reference(
    logical: Logical,
    dollar: int,
    macros: Macros,
    *,
    on_undefined: OnUndefined | None,
    out: TextBuilder | None = None,
) -> tuple[Text, int]:
    """Parse the `$(...)` at `dollar`; return its expansion and the offset after the closing parenthesis."""
    text = logical.text
    location = logical.location_at(dollar)
    close = text.find(")", dollar + 2)
    if close < 0:
        raise DescriptorError(
            f"unterminated macro reference '{text[dollar : dollar + 20]}'",
            location=location,
            hint="close it with ')'",
        )
    inner = text[dollar + 2 : close]
    if "$" in inner or "(" in inner:
        raise DescriptorError(
            f"nested macro reference '{_balanced(text, dollar)}' is not supported",
            location=location,
            hint="assign the inner value to a macro first",
        )
    name, colon, rule = inner.partition(":")
    name = name.strip()
    if not name:
        raise DescriptorError("empty macro reference '$()'", location=location)
    value = macros.get(name)
    if value is None:
        if on_undefined is not None:
            on_undefined(name, location)
        return Text(""), close + 1
    if name == "O" and out is not None and out.last_char() in ("\\", "/"):
        value = Text(macros.obj_relative)
    if colon:
        old, equals, new = rule.partition("=")
        if not equals or not old:
            raise DescriptorError(
                f"bad substitution '$({inner})'",
                location=location,
                hint="write $(NAME:old=new) with a non-empty old",
            )
        value = substitute(value, old, new, location)
    if value.marks:
        return value, close + 1
    return Text.plain(value.value, location), close + 1


def _balanced(text: str, dollar: int) -> str:
    """The reference starting at `dollar` up to its matching parenthesis (for messages)."""
    depth = 0
    for i in range(dollar + 1, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[dollar : i + 1]
    return text[dollar:]
