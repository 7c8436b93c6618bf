"""The no-op fast path of `enlist build` (L2; imports only builtin modules, on purpose).

ninja answers "no work to do" in 19 ms over 2,000 sources; enlist must stay within 3x of that, so a build with
nothing to do may not import argparse, rich, networkx, requests, the descriptors or the planner. The last
complete build left `out/<config>/.enlist/noop` (format in `enlist.store.state`): the identity of its request
and the stat signature of every file it depended on. This module parses the few flags that cannot change a
result, compares the identity, stats every file, and when all match, rewrites the logs of a no-op and says so.
Anything it does not understand, or any difference at all, hands over to the full build, which decides with
content digests.

The identity of a build is `(enlist version, root, config, strict, selected dirs, max pass, allowed env
values)`: `identity()` computes it for both paths, so they cannot disagree.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

NOOP_FORMAT = "enlist-noop-3"
WATCH_FORMAT = "enlist-watch-1"
SECONDS_TOKEN = "__ENLIST_SECONDS__"
ENLIST_TOML = "buildconf/enlist.toml"
_ARCH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


Readers = tuple[int, str, bytes, bytes, int]  # (plan id, byte order, offsets, action numbers, CRC): `touched`
Watch = tuple[int, tuple[str, ...], Readers]  # (id, paths, readers): the `watch` file (`enlist.store.state`)


class Scan:
    """What a no-op check that failed found: the files that changed since the last complete build."""

    def __init__(
        self,
        identity: tuple[object, ...],
        record: tuple[int, int, int] | None,
        paths: tuple[str, ...],
        sigs: bytes,
        positions: list[int],
        readers: Readers | None,
        watch: int = 0,
    ) -> None:
        self.identity = identity
        self.record = record  # the noop record's own signature: it proves no build ran since the scan
        self.paths = paths
        self.sigs = sigs  # (mtime_ns, size, inode) per path, as signed 64-bit integers in the machine's order
        self.watch = watch  # the id of the watch file the paths come from
        self.positions = positions  # where the changed files are in `paths`
        self.changed = {paths[k] for k in positions}
        self.readers = readers

    def touched(self, plan_id: int) -> set[int] | None:
        """The numbers of the actions of plan `plan_id` that read, depend on or write a changed file, from the
        record's reverse index: action numbers `flat[offsets[k]:offsets[k + 1]]` for `paths[k]`, both arrays of
        unsigned 32-bit integers in the machine's byte order, with the CRC-32 of both: an action number
        damaged into another would make the build skip the action that reads a changed file. None when the
        index is for another plan (or another machine) or damaged: the build then looks at every action."""
        import zlib  # here: the no-op check itself never needs it

        readers = self.readers
        if readers is None or readers[0] != plan_id or readers[1] != sys.byteorder:
            return None
        if zlib.crc32(readers[3], zlib.crc32(readers[2])) != readers[4]:
            return None
        try:
            offsets, flat = memoryview(readers[2]).cast("I"), memoryview(readers[3]).cast("I")
        except (TypeError, ValueError):
            return None
        if len(offsets) != len(self.paths) + 1 or offsets[-1] != len(flat):
            return None
        found: set[int] = set()
        for k in self.positions:
            found.update(flat[offsets[k] : offsets[k + 1]])
        return found


LAST_SCAN: Scan | None = None


def scan_for(request: tuple[object, ...], directory: str) -> Scan | None:
    """The scan of this process's no-op check, if it was for `request` and no build ran since."""
    scan = LAST_SCAN
    if scan is None or scan.identity != request:
        return None
    return scan if signature(os.path.join(directory, "noop")) == scan.record else None


def identity(
    version: str,
    root: str,
    config: str,
    strict: bool,
    dirs: tuple[str, ...],
    max_pass: int | None,
    env: tuple[tuple[str, str | None], ...],
) -> tuple[object, ...]:
    everything = not dirs or "" in dirs
    return (
        version,
        root,
        config,
        strict,
        () if everything else dirs,
        -1 if max_pass is None else max_pass,
        env,
    )


def normalise_dirs(root: str, cwd: str, dirs: list[str]) -> tuple[str, ...] | None:
    """DIRS as sorted enlistment-relative POSIX paths ("" for the root); None if one is outside the
    enlistment.

    They are relative to the working directory when it is inside the enlistment, else to the root. No DIRS
    means the working directory, as build.exe did: everything from the root, one subtree from inside it."""
    base = cwd if cwd == root or cwd.startswith(root + "/") else root
    found = set()
    for d in dirs or ["."]:
        path = os.path.normpath(os.path.join(base, d.replace("\\", "/")))
        if path == root:
            found.add("")
        elif path.startswith(root + "/"):
            found.add(path[len(root) + 1 :])
        else:
            return None
    return tuple(sorted(found))


def find_root(start: str) -> str | None:
    path = os.path.realpath(start)
    while True:
        if os.path.isfile(os.path.join(path, ENLIST_TOML)):
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def signature(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def settings(root: str) -> tuple[str, tuple[str, ...]] | None:
    """(default config, allowed variables) as the last full build read them from buildconf/enlist.toml, if
    that file has not changed since (record format in `enlist.store.state`)."""
    try:
        with open(os.path.join(root, "out", ".enlist", "default-config"), "rb") as f:
            sig, config, env_allow = marshal.loads(f.read())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if tuple(sig) != signature(os.path.join(root, ENLIST_TOML)):
        return None
    if not isinstance(config, str) or not all(isinstance(name, str) for name in env_allow):
        return None
    return config, tuple(env_allow)


def default_config(root: str) -> str | None:
    """The default config as the last full build read it, if buildconf/enlist.toml has not changed since."""
    found = settings(root)
    return None if found is None else found[0]


def plain_config(config: str) -> bool:
    """A well-formed FLAVOR-ARCH (`enlist.workspace.check_config` says what is wrong with the others)."""
    flavor, _, arch = config.partition("-")
    return flavor in ("chk", "fre") and bool(arch) and all(c in _ARCH_CHARS for c in arch)


def _parse(argv: list[str]) -> tuple[str | None, bool, list[str], int | None] | None:
    config: str | None = None
    strict = False
    dirs: list[str] = []
    max_pass: int | None = None
    args = iter(argv)
    for arg in args:
        if arg in ("-j", "--jobs"):
            if not next(args, "x").isdigit():
                return None
        elif arg == "--fail-fast" or (arg.startswith("-j") and arg[2:].isdigit()):
            continue
        elif arg == "--strict":
            strict = True
        elif arg == "--config":
            config = next(args, None)
        elif arg.startswith("--config="):
            config = arg[len("--config=") :]
        elif arg == "--pass":
            value = next(args, "x")
            if value not in ("0", "1", "2"):
                return None
            max_pass = int(value)
        elif arg.startswith("-") or not arg:
            return None  # -c, --no-cache, --explain, --help, anything new: the full build handles it
        else:
            dirs.append(arg)
    return config, strict, dirs, max_pass


def try_noop(argv: list[str], version: str) -> int | None:
    """0 when the last build's files are all unchanged (after telling the user), else None."""
    start = time.perf_counter()
    parsed = _parse(argv)
    if parsed is None:
        return None
    config, strict, dirs, max_pass = parsed
    cwd = os.getcwd()
    root = find_root(os.environ.get("ENLIST_ROOT") or cwd)
    if root is None:
        return None
    config = config or os.environ.get("ENLIST_CONFIG") or default_config(root)
    selected = normalise_dirs(root, cwd, dirs)
    if not config or selected is None or not all(os.path.isdir(os.path.join(root, d)) for d in selected):
        return None  # the full path explains what is wrong
    out = os.path.join(root, "out", config)
    try:
        lock = os.open(os.path.join(out, ".enlist", "lock"), os.O_RDWR)
    except OSError:
        return None
    try:
        return _check(lock, out, root, config, strict, selected, max_pass, version, start)
    finally:
        os.close(lock)  # releases the lock


def _check(
    lock: int,
    out: str,
    root: str,
    config: str,
    strict: bool,
    selected: tuple[str, ...],
    max_pass: int | None,
    version: str,
    start: float,
) -> int | None:
    import fcntl

    global LAST_SCAN
    record = os.path.join(out, ".enlist", "noop")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with open(record, "rb") as f:
            state = marshal.loads(f.read())
            st = os.fstat(f.fileno())
        fmt, _, request, env_names, watch_id, order, packed, logs = state
        if fmt != NOOP_FORMAT or order != sys.byteorder:
            return None
        with open(os.path.join(out, ".enlist", "watch"), "rb") as f:
            wfmt, wid, paths, readers = marshal.loads(f.read())
        sigs = memoryview(packed).cast("q")
    except (OSError, EOFError, ValueError, TypeError):
        return None
    env = tuple((name, os.environ.get(name)) for name in env_names)
    mine = identity(version, root, config, strict, selected, max_pass, env)
    if request != mine or wfmt != WATCH_FORMAT or wid != watch_id or len(sigs) != 3 * len(paths):
        return None
    changed = _changed(root, paths, sigs)
    if changed:
        LAST_SCAN = Scan(mine, (st.st_mtime_ns, st.st_size, st.st_ino), paths, packed, changed, readers, wid)
        return None
    seconds = f"{time.perf_counter() - start:.3f}"
    try:
        for name, text in logs.items():
            text = text.replace(f'"{SECONDS_TOKEN}"', seconds).replace(SECONDS_TOKEN, seconds)
            _write(os.path.join(out, name), text)
    except OSError:
        return None
    sys.stdout.write(f"enlist: nothing to do ({config}: {len(paths)} files unchanged, {seconds} s)\n")
    return 0


def _changed(root: str, paths: tuple[str, ...], sigs: memoryview) -> list[int]:
    """Where in `paths` the files whose signature differs from the record are (missing files included)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    stat = os.stat
    changed: list[int] = []
    try:
        k = 0
        for path in paths:
            try:
                st = stat(path, dir_fd=fd)
                if st.st_mtime_ns != sigs[k] or st.st_size != sigs[k + 1] or st.st_ino != sigs[k + 2]:
                    changed.append(k // 3)
            except OSError:
                changed.append(k // 3)
            k += 3
    finally:
        os.close(fd)
    return changed


def _write(path: str, text: str) -> None:
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.noop.tmp")  # one writer at a time: the check holds the tree's lock
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
