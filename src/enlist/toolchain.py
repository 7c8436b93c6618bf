"""The toolchain on this machine (L2): what the pure planner needs to be handed, and zig's libc warm-up.

- `load_rules(settings, kind=None)`: the toolchain tables of `buildconf/enlist.toml`, with line numbers in
  errors.
- `build_spec(settings, rules, config=..., packages=...)`: the `BuildSpec` of one build (revision from git,
  allowed host variables, host tools on PATH, the per-user cache directory).
- `warm_up(rules, zig, archs=...)`: build zig's libc for the configured targets into its global cache once, so
  the first real link does not pay 35-60 s. It leaves a marker named after the exact flags and skips when it
  is there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from enlist import canonical
from enlist.errors import EnvironmentFault
from enlist.model.revision import Revision
from enlist.rules import settings as rule_settings
from enlist.rules.settings import RuleSettings
from enlist.rules.spec import BuildSpec, ToolTree
from enlist.rules.toolchain import Toolchain, resolve, zig_global_cache
from enlist.vcs import revision
from enlist.workspace import ENLIST_TOML, Settings, cache_root

WARM_C = "int main(void) { return 0; }\n"
WARM_SHARED = "int enlist_warm(int x) { return x + 1; }\n"
WARM_CXX = '#include <string>\nint main() { std::string s("warm"); return s.size() == 4 ? 0 : 1; }\n'


def load_rules(settings: Settings, kind: str | None = None) -> RuleSettings:
    """`kind` ("zig" or "host") overrides [toolchain] kind, e.g. from `--toolchain` or $ENLIST_TOOLCHAIN."""
    try:
        text = (settings.root / ENLIST_TOML).read_text(encoding="utf-8")
    except OSError:
        text = ""
    return rule_settings.parse(
        settings.raw, text=text, kind=kind or os.environ.get("ENLIST_TOOLCHAIN") or None
    )


def build_spec(
    settings: Settings,
    rules: RuleSettings,
    *,
    config: str,
    packages: Sequence[ToolTree] = (),
    official: bool = False,
    build_number: int | None = None,
) -> BuildSpec:
    """All the planner needs to know about this machine and this build; `packages` are restored trees."""
    allowed = tuple((name, os.environ[name]) for name in settings.env_allow if name in os.environ)
    return BuildSpec(
        root=settings.root.resolve().as_posix(),
        config=config,
        version=settings.version,
        revision=revision(settings.root),
        packages=tuple(sorted((_real(tree) for tree in packages), key=lambda t: t.name)),
        cache_dir=cache_root().as_posix(),
        host_env=allowed,
        host_tools=host_tools(rules) if rules.toolchain.kind == "host" else (),
        official=official,
        build_number=build_number,
    )


def host_tools(rules: RuleSettings) -> tuple[tuple[str, str], ...]:
    found = []
    host = rules.toolchain.host
    for key, name in (("cc", host.cc), ("cxx", host.cxx), ("ar", host.ar)):
        path = shutil.which(name)
        if path is None:
            raise EnvironmentFault(
                f"host toolchain: '{name}' not found on PATH",
                hint="install it, name it in [toolchain.host], or use the default zig toolchain",
                location=rules.toolchain.location,
            )
        found.append((key, str(Path(path).resolve())))
    return tuple(found)


def warm_up(rules: RuleSettings, zig: ToolTree, *, archs: Sequence[str], cxx: bool = False) -> list[str]:
    """Link a tiny program and a tiny shared library (and a C++ program when `cxx`) with the link flags of
    every flavor of each arch, in parallel (concurrent cold builds in one zig cache are safe). Returns the
    configs that were warmed now; a host toolchain has nothing to warm."""
    todo = _pending_warm_ups(rules, zig, archs=archs, cxx=cxx)
    if todo:
        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            list(pool.map(lambda item: _warm_one(item[1][1], item[0], cxx=cxx), todo.items()))
    return sorted(config for config, _ in todo.values())


def needs_warm_up(rules: RuleSettings, zig: ToolTree, *, archs: Sequence[str], cxx: bool = False) -> bool:
    """Whether `warm_up` has work to do (a few stat calls)."""
    return bool(_pending_warm_ups(rules, zig, archs=archs, cxx=cxx))


def _pending_warm_ups(
    rules: RuleSettings, zig: ToolTree, *, archs: Sequence[str], cxx: bool
) -> dict[Path, tuple[str, Toolchain]]:
    if rules.toolchain.kind != "zig":
        return {}
    cache = cache_root()
    todo: dict[Path, tuple[str, Toolchain]] = {}
    for arch in sorted(set(archs)):
        for flavor in rule_settings.FLAVORS:
            config = f"{flavor}-{arch}"
            chain = resolve(rules, _warm_spec(zig, cache, config))
            marker = Path(zig_global_cache(cache.as_posix(), zig.sha256)) / _marker_name(chain, cxx)
            if not marker.is_file():
                todo.setdefault(marker, (config, chain))
    return todo


def _warm_spec(zig: ToolTree, cache: Path, config: str) -> BuildSpec:
    return BuildSpec(
        root="/nonexistent",
        config=config,
        version="0",
        revision=Revision("", True, 0),
        packages=(_real(zig),),
        cache_dir=cache.as_posix(),
    )


def _warm_one(chain: Toolchain, marker: Path, *, cxx: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="enlist-warm-") as tmp:
        work = Path(tmp)
        jobs = [("warm.c", WARM_C, False, False), ("warm_shared.c", WARM_SHARED, False, True)]
        if cxx:
            jobs.append(("warm.cpp", WARM_CXX, True, False))
        env = dict(chain.env(0))
        env["ZIG_LOCAL_CACHE_DIR"] = str(work / "zig-cache")
        for name, text, is_cxx, shared in jobs:
            (work / name).write_text(text)
            out = work / (name + (".so" if shared else ".out"))
            argv = chain.link_argv(
                str(out), [str(work / name)], cxx=is_cxx, shared=shared, flags=["-fPIC"] if shared else []
            )
            done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise EnvironmentFault(
                    f"warming zig's libc failed ({' '.join(argv[:2])} exit {done.returncode}): "
                    f"{done.stderr.strip()[-2000:]}",
                    hint="check free disk space in the enlist cache (ENLIST_CACHE)",
                )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("warm\n")


def _marker_name(chain: Toolchain, cxx: bool) -> str:
    return f"enlist-warm-{canonical.digest([list(chain.link_flags), cxx])[:16]}"


def _real(tree: ToolTree) -> ToolTree:
    """zig resolves its own directory with realpath, so prefix maps and key roots use the real path too."""
    real = Path(tree.path).resolve().as_posix()
    return tree if real == tree.path else ToolTree(name=tree.name, sha256=tree.sha256, path=real)
