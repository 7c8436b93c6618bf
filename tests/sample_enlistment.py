"""A small real enlistment for planner tests, with its `Project`s built by hand (the descriptor parser's job).

projects/lex     LIBRARY lex: a re2c lexer (lexer.re) and util.c; publishes inc/lex.h (pass0), liblex.a
(pass1) projects/greet   DYNLINK greet: libgreet.so, published in pass2 projects/app     PROGRAM app: includes
lex.h and links liblex.a from $(PUBLIC_ROOT); a postbuild test runs it
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from enlist.errors import Location
from enlist.model.project import Item, Pass, Project, Publish, SourceFile, TargetType, TestProgram
from enlist.rules.spec import Consumption

REPO_TOML = Path(__file__).resolve().parents[1] / "buildconf" / "enlist.toml"
FILES = {
    "projects/lex/lex.h": (
        "#ifndef LEX_H\n#define LEX_H\nint lex_count(const char *s);\nint lex_twice(int x);\n#endif\n"
    ),
    "projects/lex/lexer.re": """#include "lex.h"
/* Counts the words of a string. */
int lex_count(const char *YYCURSOR) {
    const char *YYMARKER;
    int n = 0;
    for (;;) {
    /*!re2c
        re2c:yyfill:enable = 0;
        re2c:define:YYCTYPE = char;
        [\\x00] { return n; }
        [a-z]+  { n++; continue; }
        *       { continue; }
    */
    }
}
""",
    "projects/lex/util.c": '#include "lex.h"\nint lex_twice(int x) { return 2 * x; }\n',
    "projects/greet/greet.c": 'const char *greet(void) { return "hello"; }\n',
    "projects/app/main.c": """#include <stdio.h>
#include <string.h>
#include "lex.h"
int main(int argc, char **argv) {
    const char *text = argc > 1 ? argv[1] : "";
    int n = lex_count(text);
    printf("words=%d twice=%d %s\\n", n, lex_twice(n), __FILE__);
    return argc > 2 && strcmp(argv[2], "fail") == 0 ? 3 : 0;
}
""",
}


def write(root: Path) -> None:
    """The sources, and this repository's own buildconf/enlist.toml (toolchain, configs, generators)."""
    for rel, text in {**FILES, "buildconf/enlist.toml": REPO_TOML.read_text()}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit(root: Path) -> None:
    """A git commit with fixed names and dates: the same tree gives the same commit id at any path."""
    env = {
        "GIT_AUTHOR_NAME": "Builder",
        "GIT_AUTHOR_EMAIL": "builder@example.invalid",
        "GIT_COMMITTER_NAME": "Builder",
        "GIT_COMMITTER_EMAIL": "builder@example.invalid",
        "GIT_AUTHOR_DATE": "2024-01-02T03:04:05Z",
        "GIT_COMMITTER_DATE": "2024-01-02T03:04:05Z",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(root),
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "sample"]):
        subprocess.run(["git", "-C", str(root), *args], env=env, check=True)


def _loc(project: str, line: int) -> Location:
    return Location(f"{project}/sources", line)


def _items(project: str, *values: str) -> tuple[Item, ...]:
    return tuple(Item(v, _loc(project, 5)) for v in values)


def projects(config: str = "chk-amd64") -> list[Project]:
    pub = f"public/{config}"
    lex, greet, app = "projects/lex", "projects/greet", "projects/app"
    return [
        Project(
            dir=lex,
            descriptor=f"{lex}/sources",
            target_name="lex",
            target_type=TargetType.LIBRARY,
            target_location=_loc(lex, 1),
            obj_dir=f"{lex}/obj/{config}",
            sources=(
                SourceFile(f"{lex}/lexer.re", _loc(lex, 3)),
                SourceFile(f"{lex}/util.c", _loc(lex, 4)),
                SourceFile(f"{lex}/lex.h", _loc(lex, 4)),
            ),
            publish=(
                Publish(Pass.PASS0, f"{lex}/lex.h", f"{pub}/inc/lex.h", _loc(lex, 6)),
                Publish(Pass.PASS1, f"{lex}/obj/{config}/liblex.a", f"{pub}/lib/liblex.a", _loc(lex, 7)),
            ),
        ),
        Project(
            dir=greet,
            descriptor=f"{greet}/sources",
            target_name="greet",
            target_type=TargetType.DYNLINK,
            target_location=_loc(greet, 1),
            obj_dir=f"{greet}/obj/{config}",
            sources=(SourceFile(f"{greet}/greet.c", _loc(greet, 3)),),
            publish=(
                Publish(
                    Pass.PASS2, f"{greet}/obj/{config}/libgreet.so", f"{pub}/bin/libgreet.so", _loc(greet, 6)
                ),
            ),
        ),
        Project(
            dir=app,
            descriptor=f"{app}/sources",
            target_name="app",
            target_type=TargetType.PROGRAM,
            target_location=_loc(app, 1),
            obj_dir=f"{app}/obj/{config}",
            sources=(SourceFile(f"{app}/main.c", _loc(app, 3)),),
            includes=_items(app, f"{pub}/inc"),
            defines=_items(app, "-DAPP=1"),
            target_libs=_items(app, f"{pub}/lib/liblex.a"),
            publish=(Publish(Pass.PASS2, f"{app}/obj/{config}/app", f"{pub}/bin/app", _loc(app, 6)),),
            tests=(TestProgram("app", ("three little words",), _loc(app, 8)),),
        ),
    ]


CONSUMPTIONS = (
    Consumption("projects/app", Pass.PASS1, "projects/lex", Pass.PASS0),
    Consumption("projects/app", Pass.PASS2, "projects/lex", Pass.PASS1),
)
