"""A small real enlistment, built by `enlist build` in child processes with the real zig and re2c: the subject
of the crash, corruption, concurrency and disk-full tests.

    projects/words   LIBRARY words: a re2c lexer (lexer.re) and util.c; publishes words.h (pass0) and
                     libwords.a (pass1)
    projects/greet   DYNLINK greet: libgreet.so, published in pass2
    projects/app     PROGRAM app: includes words.h and links libwords.a from $(PUBLIC_ROOT); published in
                     pass2; a postbuild test runs it

Every tree gets a machine cache of its own (`ENLIST_CACHE`): its action cache and CAS start empty, while the
unpacked zig and re2c and zig's warmed libc are links to the machine's real toolcache, restored once per test
session (`tool_trees`), so a clean build takes well under a second. `VARIANTS` are edits of the sources; a
`snapshot` is every file a build writes that must be reproducible (public tree, objects, test logs, manifest,
compile_commands.json; not the compiler's depfiles), to be compared byte for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from enlist import workspace
from enlist.rules.spec import ToolTree
from enlist.rules.toolchain import zig_global_cache
from enlist.toolcache.layout import Layout

REPO = Path(__file__).resolve().parents[1]
CRASHKIT = Path(__file__).with_name("crashkit.py")
CONFIG = "chk-amd64"
PUBLIC = f"public/{CONFIG}"

SOURCES = {
    "dirs": "DIRS = projects\n",
    "projects/dirs": "DIRS = words greet app\n",
    "projects/words/sources": (
        "TARGETNAME = words\nTARGETTYPE = LIBRARY\nINCLUDES = $(INCLUDES);$(PROJECT_ROOT)\n"
        "SOURCES = \\\n    lexer.re \\\n    util.c \\\n\n"
        "PASS0_PUBLISH = {words.h=$(PUBLIC_ROOT)\\inc\\words.h}\n"
        "PASS1_PUBLISH = {$(O)\\words.lib=$(PUBLIC_ROOT)\\lib\\words.lib}\n"
    ),
    "projects/words/words.h": (
        "#ifndef WORDS_H\n#define WORDS_H\nint words_count(const char *s);\nint words_twice(int x);\n#endif\n"
    ),
    "projects/words/lexer.re": (
        '#include "words.h"\n'
        "int words_count(const char *YYCURSOR) {\n"
        "    int n = 0;\n"
        "    for (;;) {\n"
        "    /*!re2c\n"
        "        re2c:yyfill:enable = 0;\n"
        "        re2c:define:YYCTYPE = char;\n"
        "        [\\x00] { return n; }\n"
        "        [a-z]+ { n++; continue; }\n"
        "        *      { continue; }\n"
        "    */\n"
        "    }\n"
        "}\n"
    ),
    "projects/words/util.c": '#include "words.h"\nint words_twice(int x) { return 2 * x; }\n',
    "projects/greet/sources": (
        "TARGETNAME = greet\nTARGETTYPE = DYNLINK\nSOURCES = greet.c\n"
        "PASS2_PUBLISH = {$(O)\\greet.dll=$(PUBLIC_ROOT)\\bin\\greet.dll}\n"
    ),
    "projects/greet/greet.c": 'const char *greet(void) { return "hello"; }\n',
    "projects/app/sources": (
        "TARGETNAME = app\nTARGETTYPE = PROGRAM\nUMTYPE = console\n"
        "INCLUDES = $(INCLUDES);$(PUBLIC_ROOT)\\inc\nSOURCES = main.c\n"
        "TARGETLIBS = $(TARGETLIBS) $(PUBLIC_ROOT)\\lib\\words.lib\n"
        "PASS2_PUBLISH = {$(O)\\app.exe=$(PUBLIC_ROOT)\\bin\\app.exe}\n"
        "TEST_PROGRAMS = $(O)\\app.exe\nTEST_ARGS = three little words\n"
    ),
    "projects/app/main.c": (
        '#include <stdio.h>\n#include "words.h"\n'
        "int main(int argc, char **argv) {\n"
        "    int n = 0;\n"
        "    for (int i = 1; i < argc; i++) n += words_count(argv[i]);\n"
        '    printf("words=%d twice=%d\\n", n, words_twice(n));\n'
        "    return 0;\n"
        "}\n"
    ),
}

# Edits that change what is built: a library function (the library, its publish and the program change), the
# program alone, and the shared library alone. Variant 0 is the sources as written above.
VARIANTS: tuple[Mapping[str, str], ...] = (
    {},
    {"projects/words/util.c": '#include "words.h"\nint words_twice(int x) { return 3 * x; }\n'},
    {"projects/app/main.c": SOURCES["projects/app/main.c"].replace("words=%d", "count=%d")},
    {"projects/greet/greet.c": 'const char *greet(void) { return "bonjour"; }\n'},
)
PROGRAM_OUTPUT = {0: "words=3 twice=6\n", 1: "words=3 twice=9\n", 2: "count=3 twice=6\n", 3: "words=3 twice=6\n"}

PUBLISHED = (
    f"{PUBLIC}/bin/app",
    f"{PUBLIC}/bin/libgreet.so",
    f"{PUBLIC}/inc/words.h",
    f"{PUBLIC}/lib/libwords.a",
)


@dataclass
class Tree:
    root: Path
    cache: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENLIST_")}
        env.update({"ENLIST_CACHE": str(self.cache), "PIP_CONFIG_FILE": os.devnull}, **extra)
        return env

    def argv(self, *args: str, crash: tuple[str, int] | None = None) -> list[str]:
        if crash is None:
            return [sys.executable, "-m", "enlist", *args]
        return [sys.executable, str(CRASHKIT), crash[0], str(crash[1]), "--", *args]

    def enlist(
        self, *args: str, crash: tuple[str, int] | None = None, timeout: float = 300, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args, crash=crash),
            cwd=self.root,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn(self, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args),
            cwd=self.root,
            env=self.env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def build(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = self.enlist("build", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def count_operations(self, *args: str) -> int:
        """How many renames and links `enlist ARGS` makes (see crashkit.py)."""
        counter = self.root.parent / f"{self.root.name}.operations"
        done = subprocess.run(
            [sys.executable, str(CRASHKIT), "count", str(counter), "--", *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return int(counter.read_text())

    def use(self, variant: int) -> None:
        """Make the sources those of `variant` (only files whose content changes are written)."""
        for rel, text in {**SOURCES, **VARIANTS[variant]}.items():
            path = self.root / rel
            if not path.is_file() or path.read_text() != text:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)

    def snapshot(self) -> dict[str, bytes]:
        return snapshot(self.root)

    def clean(self) -> None:
        assert self.enlist("clean").returncode == 0

    def run_program(self) -> str:
        done = subprocess.run([self.root / PUBLIC / "bin/app", "three little words"], capture_output=True, text=True)
        return done.stdout


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file a build writes that must be reproducible, by enlistment-relative path."""
    found: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        wanted = (
            rel.startswith(f"{PUBLIC}/")
            or "/obj/" in rel
            or rel.startswith(f"out/{CONFIG}/stamp/")
            or rel in (f"out/{CONFIG}/manifest.json", "compile_commands.json")
        )
        depfile = rel.endswith(".d")  # the compiler's side file: not restored by a cache hit, names local paths
        if wanted and not depfile and path.is_file() and not path.is_symlink():
            found[rel] = path.read_bytes()
    return found


def differences(have: Mapping[str, bytes], want: Mapping[str, bytes]) -> list[str]:
    missing = [f"missing {p}" for p in sorted(set(want) - set(have))]
    extra = [f"unexpected {p}" for p in sorted(set(have) - set(want))]
    changed = [f"differs {p}" for p in sorted(set(want) & set(have)) if want[p] != have[p]]
    return missing + extra + changed


def write_tree(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "buildconf").mkdir(exist_ok=True)
    for name in ("enlist.toml", "packages.toml", "packages.lock"):
        shutil.copy(REPO / "buildconf" / name, root / "buildconf" / name)
    for rel, text in SOURCES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def link_tools(cache: Path, trees: Mapping[str, ToolTree]) -> None:
    """A machine cache whose toolcache holds the real unpacked packages (as links) and zig's warm libc."""
    machine = workspace.cache_root()
    source, layout = Layout.at(machine), Layout.at(cache)
    for tree in trees.values():
        target = layout.tree(tree.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to(source.tree(tree.sha256))
            shutil.copy(source.manifest(tree.sha256), layout.manifest(tree.sha256))
    zig = trees["ziglang"]
    global_cache = Path(zig_global_cache(str(cache), zig.sha256))
    if not global_cache.exists():
        global_cache.parent.mkdir(parents=True, exist_ok=True)
        global_cache.symlink_to(zig_global_cache(str(machine), zig.sha256))


@pytest.fixture(scope="session")
def warm_tools(tool_trees: dict[str, ToolTree]) -> dict[str, ToolTree]:
    """The real packages, with zig's libc for amd64 built once per machine (a few seconds when cold)."""
    from enlist import toolchain

    rules = toolchain.load_rules(workspace.load(REPO))
    toolchain.warm_up(rules, tool_trees["ziglang"], archs=["amd64"])
    return tool_trees


def make_tree(base: Path, trees: Mapping[str, ToolTree], *, cache: Path | None = None) -> Tree:
    cache = cache or base / "cache"
    link_tools(cache, trees)
    root = (base / "enlistment").resolve()
    write_tree(root)
    return Tree(root, cache.resolve())


@pytest.fixture
def tree(tmp_path: Path, warm_tools: dict[str, ToolTree]) -> Iterator[Tree]:
    yield make_tree(tmp_path, warm_tools)
