"""Cache keys: constructive traces that do not depend on where the enlistment or the caches live (L1).

Three digests per action, each sha256 hex:

- `fingerprint(action)`: what the action *is*: kind, argv and environment normalised with the build's
  `PathRoots` (the enlistment root becomes `.`, each package tree its `@name/sha256`, so the tool's identity
  is in the key), working directory, declared inputs, outputs, depfile and publish pairs. Canonical JSON, so
  field order and dict order never matter. It changes only when the plan changes.
- `static_key(fingerprint, input digests)`: adds the content of every declared input, in declared order.
- `full_key(static, deps)`: adds the content of every header the compiler discovered (path and digest; a
  missing file is digested as `-`). For an action without a depfile, `deps` is empty.

Discovered dependencies are only known after a run, so the action cache holds them under the static key (see
`enlist.engine.traces`): look up the deps recorded for this static key, digest them, then look up the outputs
under the full key. That is ccache's direct mode, and it stays sound because any change that could make the
compiler read other headers (the source, the flags, the include path) changes the static key first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from enlist.model.action import Action, PathRoots

MISSING = "-"  # the digest of a file that does not exist
KEY_VERSION = 1  # bump when the meaning of a key changes: every old trace becomes a miss


def normaliser(roots: PathRoots) -> Callable[[str], str]:
    """A function replacing every absolute root prefix in a string by its symbolic name.

    A prefix matches only as a whole path component: `/src/root` is replaced in `-I/src/root/inc` and in
    `-ffile-prefix-map=/src/root=.`, never in `/src/rootless`."""
    names = [(p.rstrip("/"), name) for p, name in roots.packages if p]
    if roots.enlistment:
        names.append((roots.enlistment.rstrip("/"), "."))
    if not names:
        return lambda text: text
    import re  # here: a build that reuses its plan never normalises anything

    names.sort(key=lambda pair: len(pair[0]), reverse=True)
    table = dict(names)
    pattern = re.compile("(" + "|".join(re.escape(p) for p, _ in names) + r")(?=/|=|:|;|,|\s|$)")
    return lambda text: pattern.sub(lambda m: table[m.group(1)], text) if "/" in text else text


def fingerprint(action: Action, normalise: Callable[[str], str]) -> str:
    from enlist.canonical import dumps  # json: only when a plan is made

    body = {
        "v": KEY_VERSION,
        "kind": action.kind.value,
        "argv": [normalise(a) for a in action.argv],
        "env": [[k, normalise(v)] for k, v in action.env],
        "cwd": action.cwd,
        "inputs": [normalise(p) for p in action.inputs],
        "outputs": list(action.outputs),
        "depfile": action.depfile,
        "publish": [[normalise(src), dest] for src, dest in action.publish],  # a package tree's src too
    }
    return hashlib.sha256(dumps(body).encode("utf-8")).hexdigest()


def static_key(fp: str, input_digests: Sequence[str]) -> str:
    h = hashlib.sha256(fp.encode("ascii"))
    for d in input_digests:
        h.update(b"\n")
        h.update(d.encode("ascii"))
    return h.hexdigest()


def full_key(static: str, deps: Iterable[tuple[str, str]]) -> str:
    """`deps` are (normalised path, digest or MISSING) pairs, sorted by path."""
    h = hashlib.sha256(static.encode("ascii"))
    for path, d in deps:
        h.update(b"\0")
        h.update(path.encode("utf-8"))
        h.update(b"\0")
        h.update(d.encode("ascii"))
    return h.hexdigest()
