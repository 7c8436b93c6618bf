"""Depfiles: the headers a compile discovered, in the Makefile syntax that clang and gcc write with `-MD -MF`
(L1).

    projects/x/obj/chk-amd64/a.o: projects/x/a.c projects/x/a.h \\
      public/chk-amd64/inc/has\\ space.h /zig/lib/include/stddef.h
    projects/x/a.h:

One or more rules `targets: prerequisites`; a backslash before a newline continues the line; `\\ ` is a space
inside a path, `\\#` a `#`, `$$` a `$`; any other backslash is kept (Windows paths). Rules with no
prerequisites (written by `-MP`) are phony and add nothing. The result is every prerequisite, in first-seen
order, without duplicates.

`normalise` then turns what the compiler wrote into the engine's path forms: enlistment-relative POSIX paths
for files in the enlistment, absolute paths elsewhere, and nothing at all for files inside restored package
trees (they are immutable and already in the key through the tool's `@name/sha256` root).

Pure: the caller reads the file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from enlist.errors import InputError, Location


def parse(text: str, shown_as: str = "depfile") -> tuple[str, ...]:
    """Every prerequisite of every rule in `text`, first-seen order, deduplicated."""
    deps: dict[str, None] = {}
    for lineno, line in _logical_lines(text):
        tokens = _tokens(line)
        if not tokens:
            continue
        try:
            colon = next(i for i, (tok, sep) in enumerate(tokens) if sep)
        except StopIteration:
            raise InputError(
                "expected 'target: prerequisites'",
                location=Location(shown_as, lineno),
                hint="a depfile is written by the compiler's -MD -MF; check the action's command line",
            ) from None
        for tok, _ in tokens[colon + 1 :]:
            if tok:
                deps.setdefault(tok, None)
    return tuple(deps)


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if not pending:
            start = number
        if _continues(raw):
            pending.append(raw[:-1])
            continue
        pending.append(raw)
        yield start, " ".join(pending)
        pending = []
    if pending:
        yield start, " ".join(pending)


def _continues(line: str) -> bool:
    """A line continues when it ends in an odd number of backslashes."""
    run = len(line) - len(line.rstrip("\\"))
    return run % 2 == 1


def _tokens(line: str) -> list[tuple[str, bool]]:
    """Split into (word, ends_targets) pairs; the word before a `:` separator carries True."""
    tokens: list[tuple[str, bool]] = []
    word: list[str] = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        nxt = line[i + 1] if i + 1 < n else ""
        if c == "\\" and nxt in (" ", "#", "\t"):
            word.append(nxt)
            i += 2
            continue
        if c == "$" and nxt == "$":
            word.append("$")
            i += 2
            continue
        if c == ":" and (nxt in ("", " ", "\t")):
            tokens.append(("".join(word), True))
            word = []
        elif c in (" ", "\t"):
            if word:
                tokens.append(("".join(word), False))
                word = []
        else:
            word.append(c)
        i += 1
    if word:
        tokens.append(("".join(word), False))
    return tokens


def normalise(
    deps: Iterable[str],
    *,
    root: str,
    cwd: str,
    package_roots: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> tuple[str, ...]:
    """Deps as engine paths (see the module docstring), sorted, without `exclude` (the declared inputs).

    `root` is the absolute enlistment root, `cwd` the action's enlistment-relative working directory."""
    packages = tuple(p.rstrip("/") + "/" for p in package_roots)
    skip = set(exclude)
    prefix = root.rstrip("/") + "/"
    found: set[str] = set()
    for dep in deps:
        path = dep if dep.startswith("/") else posixpath.join(root, cwd, dep)
        path = posixpath.normpath(path)
        if path.startswith(packages):
            continue
        rel = path[len(prefix) :] if path.startswith(prefix) else path
        if rel not in skip:
            found.add(rel)
    return tuple(sorted(found))
