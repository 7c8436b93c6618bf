"""The command lines of the toolchain (L1, pure): compile, archive and link with zig (or the host cc).

Reproducibility (../shared/facts/toolchain.md, measured): an explicit target with a pinned libc and
`-mcpu=baseline`; `-g0` objects unless a config asks for `-g`; `-s` on every link (zig's libc objects carry
its paths); `-fdebug-compilation-dir=.` and `-ffile-prefix-map` for the enlistment (-> `.`) and for the real
path of the zig directory (-> `/zig`); `zig ar rcs`; and a scrubbed environment, because zig reads
`C_INCLUDE_PATH`, `LIBRARY_PATH`, `NIX_*`, `ZIG_LIB_DIR` and `ZIG_LIBC` from it.

The environment of every command is complete (nothing inherited): `TZ=UTC`, `LC_ALL=C`, `SOURCE_DATE_EPOCH`,
the variables allowed by `[environment] allow`, and for zig `ZIG_GLOBAL_CACHE_DIR` (per user, named after the
zig package's sha256, warmed by restore) and `ZIG_LOCAL_CACHE_DIR` (per enlistment, `out/zig-cache`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from enlist.rules.settings import RuleSettings
from enlist.rules.spec import BuildSpec

LANGUAGES = {
    ".c": "c",
    ".s": "c",
    ".S": "c",
    ".cc": "cxx",
    ".cpp": "cxx",
    ".cxx": "cxx",
    ".c++": "cxx",
    ".C": "cxx",
    ".h": "header",
    ".hh": "header",
    ".hpp": "header",
    ".hxx": "header",
    ".inc": "header",
    ".inl": "header",
}
LOCAL_CACHE = "out/zig-cache"
HOST_PATH = "/usr/local/bin:/usr/bin:/bin"


def language(path: str) -> str | None:
    """The language of a file: "c" or "cxx" if the compiler takes it, "header" if it is only included."""
    name = path.rpartition("/")[2]
    return LANGUAGES.get(name[name.rfind(".") :]) if "." in name else None


@dataclass(frozen=True, slots=True)
class Toolchain:
    """A toolchain resolved for one build: absolute tool paths, flags and environment."""

    kind: str
    cc: tuple[str, ...]
    cxx: tuple[str, ...]
    ar: tuple[str, ...]
    compile_flags: tuple[str, ...]  # target, reproducibility, toolchain and config flags, in that order
    cxx_flags: tuple[str, ...]
    link_flags: tuple[str, ...]
    # Environments but SOURCE_DATE_EPOCH: the compiler's, and every other command's (generators, tests).
    base_env: tuple[tuple[str, str], ...]
    common_env: tuple[tuple[str, str], ...]
    # (absolute path, symbol) pairs for cache keys, beyond the package trees: zig's global cache.
    extra_roots: tuple[tuple[str, str], ...] = ()

    def env(self, source_date_epoch: int) -> tuple[tuple[str, str], ...]:
        """The complete environment of a compiler, archiver or linker command."""
        return _with_epoch(self.base_env, source_date_epoch)

    def plain_env(self, source_date_epoch: int) -> tuple[tuple[str, str], ...]:
        """The complete environment of a generator or test program: no compiler caches."""
        return _with_epoch(self.common_env, source_date_epoch)

    def compile_argv(
        self, source: str, obj: str, depfile: str, *, cxx: bool, flags: Sequence[str]
    ) -> tuple[str, ...]:
        driver, lang = (self.cxx, self.cxx_flags) if cxx else (self.cc, ())
        return (*driver, *self.compile_flags, *lang, *flags, "-MD", "-MF", depfile, "-c", source, "-o", obj)

    def archive_argv(self, archive: str, objects: Sequence[str]) -> tuple[str, ...]:
        return (*self.ar, archive, *objects)

    def link_argv(
        self, output: str, inputs: Sequence[str], *, cxx: bool, shared: bool, flags: Sequence[str]
    ) -> tuple[str, ...]:
        driver = self.cxx if cxx else self.cc
        soname = ("-shared", f"-Wl,-soname,{output.rpartition('/')[2]}") if shared else ()
        return (*driver, *self.link_flags, *soname, *flags, *inputs, "-o", output)


def resolve(settings: RuleSettings, spec: BuildSpec) -> Toolchain:
    """The toolchain of this build: zig from its restored package, or the host cc when asked for."""
    chosen = settings.toolchain
    config = settings.flags(spec.flavor)
    common_env = tuple(sorted({**dict(spec.host_env), "LC_ALL": "C", "TZ": "UTC"}.items()))
    if chosen.kind == "host":
        tools = dict(spec.host_tools)
        cc, cxx, ar = (
            tools.get(key, default)
            for key, default in (("cc", chosen.host.cc), ("cxx", chosen.host.cxx), ("ar", chosen.host.ar))
        )
        prefix = (f"-ffile-prefix-map={spec.root}=.", f"-fdebug-prefix-map={spec.root}=.")
        return Toolchain(
            kind="host",
            cc=(cc,),
            cxx=(cxx,),
            ar=(ar, "rcsD"),
            compile_flags=("-g0", *prefix, *chosen.cflags, *config.cflags),
            cxx_flags=chosen.cxxflags,
            link_flags=("-s", *chosen.ldflags, *config.ldflags),
            base_env=tuple(sorted({"PATH": HOST_PATH, **dict(common_env)}.items())),
            common_env=common_env,
        )
    tree = spec.restored(chosen.package, "[toolchain]", chosen.location)
    zig = f"{tree.path}/{chosen.tool}"
    zig_dir = zig.rpartition("/")[0]
    target = ("-target", chosen.target(spec.arch), f"-mcpu={chosen.cpu}")
    global_cache = zig_global_cache(spec.cache_dir, tree.sha256)
    env = {
        **dict(common_env),
        "ZIG_GLOBAL_CACHE_DIR": global_cache,
        "ZIG_LOCAL_CACHE_DIR": spec.absolute(LOCAL_CACHE),
    }
    return Toolchain(
        kind="zig",
        cc=(zig, "cc"),
        cxx=(zig, "c++"),
        ar=(zig, "ar", "rcs"),
        compile_flags=(
            *target,
            "-g0",
            "-fdebug-compilation-dir=.",
            f"-ffile-prefix-map={spec.root}=.",
            f"-ffile-prefix-map={zig_dir}=/zig",
            *chosen.cflags,
            *config.cflags,
        ),
        cxx_flags=chosen.cxxflags,
        link_flags=(*target, "-s", *chosen.ldflags, *config.ldflags),
        base_env=tuple(sorted(env.items())),
        common_env=common_env,
        extra_roots=((global_cache, f"@{tree.name}-cache/{tree.sha256}"),),
    )


def zig_global_cache(cache_dir: str, zig_sha256: str) -> str:
    """zig's global cache (its libc builds): one per user and zig package."""
    return f"{cache_dir.rstrip('/')}/zig/{zig_sha256}"


@functools.lru_cache(maxsize=64)  # called once per action with a handful of distinct values
def _with_epoch(env: tuple[tuple[str, str], ...], epoch: int) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({**dict(env), "SOURCE_DATE_EPOCH": str(epoch)}.items()))
