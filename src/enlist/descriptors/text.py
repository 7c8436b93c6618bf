"""Located text: a macro value that remembers, for every stretch of characters, the descriptor line it was
written on (L1, pure).

Eager expansion copies text from macro to macro (`SOURCES = $(SOURCES) b.c`); carrying the marks along is what
lets an error about `b.c` name the physical line that wrote `b.c`, even inside a 50-line continued list or an
included file. Marks are `(offset, Location)` pairs in ascending offset order; the location of a character is
the one of the last mark at or before it.

Splitting follows the descriptor language: list keys split on whitespace, `INCLUDES` on `;` and whitespace,
and a double-quoted stretch stays one word (quotes removed, `\\"` for a literal quote), as the C runtime does
with a command line.
"""

from __future__ import annotations

import bisect
import functools
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass

from enlist.descriptors.limits import MARK_COST
from enlist.errors import Location

NOWHERE = Location("<predefined>", 0)

FIRST = operator.itemgetter(0)


@dataclass(frozen=True, slots=True)
class Text:
    value: str
    marks: tuple[tuple[int, Location], ...] = ()

    @staticmethod
    def plain(value: str, location: Location) -> Text:
        return Text(value, ((0, location),) if value else ())

    def location_at(self, offset: int) -> Location:
        if not self.marks:
            return NOWHERE
        i = bisect.bisect_right(self.marks, offset, key=FIRST) - 1
        return self.marks[max(i, 0)][1]

    def __len__(self) -> int:
        return len(self.value)


class TextBuilder:
    """Appends literal strings and whole `Text`s, merging marks that repeat a location."""

    __slots__ = ("_marks", "_parts", "_size")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._marks: list[tuple[int, Location]] = []
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    @property
    def cost(self) -> int:
        """What the text built so far costs against the expansion budget (see `limits`)."""
        return self._size + MARK_COST * len(self._marks)

    def last_char(self) -> str:
        for part in reversed(self._parts):
            if part:
                return part[-1]
        return ""

    def add(self, value: str, location: Location) -> None:
        if not value:
            return
        if not self._marks or self._marks[-1][1] != location:
            self._marks.append((self._size, location))
        self._parts.append(value)
        self._size += len(value)

    def add_text(self, text: Text) -> None:
        if not text.value:
            return
        marks = text.marks
        # A built Text never holds two consecutive marks at one location, so only its first mark can repeat
        # ours; the rest are copied at C speed (a value copied from macro to macro may hold many).
        skip = 1 if marks and self._marks and self._marks[-1][1] == marks[0][1] else 0
        if self._size == 0:
            self._marks.extend(marks[skip:])
        else:
            base = self._size
            self._marks.extend([(base + offset, location) for offset, location in marks[skip:]])
        self._parts.append(text.value)
        self._size += len(text.value)

    def build(self) -> Text:
        return Text("".join(self._parts), tuple(self._marks))


def substitute(text: Text, old: str, new: str, location: Location) -> Text:
    """`$(NAME:old=new)`: every `old` replaced by `new`; the pieces kept keep their marks."""
    if old not in text.value:
        return text
    out = TextBuilder()
    start = 0
    while (hit := text.value.find(old, start)) >= 0:
        out.add_text(slice_text(text, start, hit))
        out.add(new, location)
        start = hit + len(old)
    out.add_text(slice_text(text, start, len(text.value)))
    return out.build()


def slice_text(text: Text, start: int, end: int) -> Text:
    if start >= end:
        return Text("")
    marks = text.marks
    first = bisect.bisect_right(marks, start, key=FIRST)  # the marks strictly inside (start, end)
    last = bisect.bisect_left(marks, end, lo=first, key=FIRST)
    inside = [(offset - start, loc) for offset, loc in marks[first:last]]
    return Text(text.value[start:end], ((0, text.location_at(start)), *inside))


def words(text: Text, separators: str = "", protect: tuple[str, ...] = ()) -> Iterator[tuple[str, Location]]:
    """Split on whitespace (and `separators`), keeping double-quoted stretches together; yield (word,
    location).

    Strings in `protect` (absolute roots that contain spaces, such as an enlistment under `My Projects`) are
    never split: `$(PROJROOT)\\a.c` stays one word wherever the enlistment lives.

    One regex finds the words, at C speed whatever the value holds (a value is up to `limits.MAX_VALUE`
    characters of anything); `_words_slowly` says what it means, and still serves a root that contains a
    quote or a backslash.
    """
    if any('"' in p or "\\" in p for p in protect):
        yield from _words_slowly(text, separators, protect)
        return
    value = text.value
    quoted = '"' in value
    for match in _word_re(separators, protect, quoted).finditer(value):
        word = match.group()
        yield (_unquote(word) if quoted else word), text.location_at(match.start())


def _unquote(word: str) -> str:
    """Drop the quotes of a word; `\\"` is a literal quote (paired left to right, as `_words_slowly` does)."""
    if '"' not in word:
        return word
    if "\0" in word:  # the placeholder below; descriptors cannot hold NUL, other callers might
        return re.sub(r'\\"|"', lambda m: '"' if len(m.group()) == 2 else "", word)
    return word.replace('\\"', "\0").replace('"', "").replace("\0", '"')


@functools.cache
def _word_re(separators: str, protect: tuple[str, ...] = (), quoted: bool = False) -> re.Pattern[str]:
    plain = r"[^\s" + re.escape(separators) + ("\"" if quoted else "") + "]"
    if not quoted and not protect:
        return re.compile(plain + "+")
    units = [r'\\"', *(re.escape(p) for p in protect)]
    if quoted:
        units.append(r'"(?:\\"|[^"])*+(?:"|\Z)')  # an unterminated quote runs to the end
    # Possessive: a word never gives back what it took, so the engine keeps no backtracking state.
    return re.compile("(?:" + "|".join([*units, plain]) + ")++")


def _words_slowly(text: Text, separators: str, protect: tuple[str, ...]) -> Iterator[tuple[str, Location]]:
    value = text.value
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] in separators):
            i += 1
        if i >= n:
            return
        start = i
        chars: list[str] = []
        quoted = False
        while i < n and (quoted or not (value[i].isspace() or value[i] in separators)):
            c = value[i]
            if c == "\\" and i + 1 < n and value[i + 1] == '"':
                chars.append('"')
                i += 2
                continue
            guarded = next((p for p in protect if value.startswith(p, i)), None) if protect else None
            if guarded:
                chars.append(guarded)
                i += len(guarded)
                continue
            if c == '"':
                quoted = not quoted
            else:
                chars.append(c)
            i += 1
        yield "".join(chars), text.location_at(start)
