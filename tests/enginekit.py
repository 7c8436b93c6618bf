"""A small real enlistment for engine tests: C sources compiled by the host `cc`, archived by `ar`, published,
consumed, linked and tested, as hand-built actions (the descriptors and the planner are not needed to run
them).

    lib/    greet.h  greet.c  count.c        -> liblib.a, greet.h published to public/<config>/
    app/    main.c (includes <greet.h>)      -> app, linked with the published liblib.a
    other/  other.c                          -> libother.a (independent of lib and app)
    test:   runs app, its output in app/obj/<config>/app.out

`main(root, *args)` runs a build from the command line, the way a child process in a test does.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from enlist.app.build import AfterBuild, BuildRequest, run_build
from enlist.console.plain import PlainConsole
from enlist.engine.builder import Options
from enlist.model.action import Action, ActionKind, PathRoots
from enlist.model.plan import Plan, PlanRequest
from enlist.model.project import Pass

CONFIG = "chk-amd64"
CC = shutil.which("cc") or "/usr/bin/cc"
AR = shutil.which("ar") or "/usr/bin/ar"
ENV = (("PATH", "/usr/bin:/bin"),)

SOURCES = {
    "buildconf/enlist.toml": '[enlistment]\nname = "kit"\ndefault_config = "chk-amd64"\n',
    "lib/greet.h": "#pragma once\nint greet(void);\nint count(void);\n",
    "lib/greet.c": '#include "greet.h"\nint greet(void) { return 40; }\n',
    "lib/count.c": '#include "greet.h"\nint count(void) { return 2; }\n',
    "app/main.c": "#include <stdio.h>\n#include <greet.h>\n"
    'int main(void) { printf("%d\\n", greet() + count()); return 0; }\n',
    "other/other.c": "int other(void) { return 7; }\n",
}


def obj(project: str, name: str) -> str:
    return f"{project}/obj/{CONFIG}/{name}"


def compile_action(
    project: str, source: str, *, includes: tuple[str, ...] = (), after: tuple[str, ...] = ()
) -> Action:
    stem = source.rsplit(".", 1)[0]
    out, dep = obj(project, f"{stem}.o"), obj(project, f"{stem}.d")
    flags = [f"-I{i}" for i in includes]
    return Action(
        id=f"{project}:compile:{source}",
        kind=ActionKind.COMPILE,
        project=project,
        pass_=Pass.PASS1,
        argv=(CC, "-c", "-O1", *flags, "-MD", "-MF", dep, f"{project}/{source}", "-o", out),
        inputs=(f"{project}/{source}",),
        outputs=(out,),
        env=ENV,
        depfile=dep,
        after=after,
        description=f"CC {project}/{source}",
    )


def archive_action(project: str, objects: list[str], name: str) -> Action:
    out = obj(project, name)
    return Action(
        id=f"{project}:archive",
        kind=ActionKind.ARCHIVE,
        project=project,
        pass_=Pass.PASS1,
        argv=(AR, "rcsD", out, *objects),
        inputs=tuple(sorted(objects)),
        outputs=(out,),
        env=ENV,
        description=f"AR {out}",
    )


def publish_action(project: str, pass_: Pass, pairs: tuple[tuple[str, str], ...]) -> Action:
    return Action(
        id=f"{project}:publish:{pass_.label}",
        kind=ActionKind.PUBLISH,
        project=project,
        pass_=pass_,
        argv=(),
        inputs=tuple(sorted(src for src, _ in pairs)),
        outputs=tuple(sorted(dest for _, dest in pairs)),
        publish=pairs,
        description=f"PUBLISH {project} {pass_.label}",
    )


@dataclass
class Kit:
    root: Path
    extra: list[Action] = field(default_factory=list)
    plans: int = 0  # how many times the planner was asked

    @property
    def public(self) -> str:
        return f"public/{CONFIG}"

    def actions(self) -> list[Action]:
        pub = self.public
        lib_objs = [obj("lib", "greet.o"), obj("lib", "count.o")]
        app = obj("app", "app")
        test = Action(
            id="app:test:app",
            kind=ActionKind.TEST,
            project="app",
            pass_=Pass.POSTBUILD,
            argv=("/bin/sh", "-c", f"{app} > {obj('app', 'app.out')}"),
            inputs=(app,),
            outputs=(obj("app", "app.out"),),
            env=ENV,
            description="TEST app",
        )
        return [
            compile_action("lib", "greet.c"),
            compile_action("lib", "count.c"),
            archive_action("lib", lib_objs, "liblib.a"),
            publish_action(
                "lib",
                Pass.PASS1,
                (
                    ("lib/greet.h", f"{pub}/inc/greet.h"),
                    (obj("lib", "liblib.a"), f"{pub}/lib/liblib.a"),
                ),
            ),
            compile_action("app", "main.c", includes=(f"{pub}/inc",), after=("lib:publish:pass1",)),
            Action(
                id="app:link",
                kind=ActionKind.LINK,
                project="app",
                pass_=Pass.PASS2,
                argv=(CC, obj("app", "main.o"), f"{pub}/lib/liblib.a", "-o", app),
                inputs=(obj("app", "main.o"), f"{pub}/lib/liblib.a"),
                outputs=(app,),
                env=ENV,
                description=f"LINK {app}",
            ),
            test,
            compile_action("other", "other.c"),
            archive_action("other", [obj("other", "other.o")], "libother.a"),
            *self.extra,
        ]

    def plan(self, request: PlanRequest) -> Plan:
        self.plans += 1
        return Plan(
            config=request.config,
            actions=tuple(self.actions()),
            roots=PathRoots(str(self.root)),
            sources=("buildconf/enlist.toml",),
        )

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()


def make_kit(root: Path) -> Kit:
    kit = Kit(root.resolve())
    for path, text in SOURCES.items():
        kit.write(path, text)
    return kit


def request(
    kit: Kit,
    *,
    cache: Path,
    jobs: int = 2,
    clean: bool = False,
    read_cache: bool = True,
    fail_fast: bool = False,
    dirs: tuple[str, ...] = (),
    max_pass: Pass | None = None,
) -> BuildRequest:
    return BuildRequest(
        root=kit.root,
        plan_request=PlanRequest(root=str(kit.root), config=CONFIG, cache=str(cache.resolve())),
        options=Options(jobs=jobs, fail_fast=fail_fast, clean=clean, projects=dirs, max_pass=max_pass),
        read_cache=read_cache,
        dirs=dirs,
        cache=cache,
    )


def build(
    kit: Kit, *, cache: Path, explain: bool = True, after: AfterBuild | None = None, **kwargs: object
) -> tuple[int, str]:
    out = io.StringIO()
    console = PlainConsole(out, explain=explain)
    code = run_build(request(kit, cache=cache, **kwargs), kit.plan, console, after=after)  # type: ignore[arg-type]
    return code, out.getvalue()


def main(root: str, *args: str) -> None:
    """Build the kit at `root` like `enlist build` would (used by tests that signal a real build process)."""
    kit = make_kit_existing(Path(root))
    if "--slow" in args:
        kit.extra.append(slow_action())
    cache = Path(os.environ["ENLIST_CACHE"])
    code = run_build(request(kit, cache=cache, jobs=2), kit.plan, PlainConsole(sys.stdout))
    sys.exit(code)


def make_kit_existing(root: Path) -> Kit:
    return Kit(root.resolve())


def slow_action() -> Action:
    """An action that can take long enough to be interrupted: it writes its process id to slow/pid and half
    its output, sleeps for the number of seconds in slow/seconds, then finishes its output."""
    out = obj("slow", "slow.txt")
    script = f"echo $$ > slow/pid; printf half > {out}; sleep $(cat slow/seconds); printf done >> {out}"
    return Action(
        id="slow:generate",
        kind=ActionKind.GENERATE,
        project="slow",
        pass_=Pass.PASS0,
        argv=("/bin/sh", "-c", script),
        inputs=("slow/seconds",),
        outputs=(out,),
        env=ENV,
        description="GEN slow",
    )


if __name__ == "__main__":
    main(*sys.argv[1:])


def verdicts(output: str) -> dict[str, str]:
    """action id -> what happened and why ("ran: input changed: ..."), from the `explain:` lines of the plain
    console."""
    found = {}
    for line in output.splitlines():
        m = re.match(r"explain: (\S+): ([a-z ]+?): (.*)$", line)
        if m:
            found[m.group(1)] = f"{m.group(2)}: {m.group(3)}"
    return found
