"""One project's actions (L1, pure): generate (pass0), compile and archive (pass1), link (pass2), publish (per
pass) and test (postbuild). Edges between projects are added afterwards by `enlist.rules.planner`.

Output names under the project's $(O) (DESIGN.md §2):
- objects: `$(O)/<source path relative to the project, or to $(O) for generated sources>.o` (`lexer.c.o`),
  depfiles beside them (`lexer.c.d`); a source outside the project is named `_/<path from the enlistment
  root>`, one in a package tree `_pkg/<package>/<path in the tree>`;
- LIBRARY `lib<name>.a`, DYNLINK `lib<name>.so` (soname `lib<name>.so`), PROGRAM `<name>`;
- generator outputs as the generator's `outputs` patterns say; test output `<program>.test.log` (stdout +
  stderr).
"""

from __future__ import annotations

from dataclasses import dataclass

from enlist.errors import DescriptorError
from enlist.model.action import Action, ActionKind
from enlist.model.project import Pass, Project, SourceFile, TargetType
from enlist.rules.settings import Generator, RuleSettings
from enlist.rules.spec import BuildSpec
from enlist.rules.toolchain import Toolchain, language


@dataclass(frozen=True, slots=True)
class Context:
    """What every project's translation shares."""

    settings: RuleSettings
    spec: BuildSpec
    toolchain: Toolchain
    stamp_object: str  # enlistment-relative stamp object linked into programs and shared libraries
    cxx_archives: frozenset[str] = frozenset()  # archives (and their published copies) holding C++ objects


def target_output(project: Project) -> str | None:
    """The file a project's target produces, or None for NOTARGET."""
    name = project.target_name
    if name is None or project.target_type is TargetType.NOTARGET:
        return None
    file = {
        TargetType.LIBRARY: f"lib{name}.a",
        TargetType.DYNLINK: f"lib{name}.so",
        TargetType.PROGRAM: name,
    }[project.target_type]
    return f"{project.obj_dir}/{file}"


@dataclass(frozen=True, slots=True)
class Sources:
    """A project's SOURCES, split: files the compiler takes, and files a generator turns into others."""

    direct: tuple[str, ...]
    generated: tuple[tuple[SourceFile, Generator, tuple[str, ...]], ...]  # (source, generator, outputs)

    @property
    def compiled(self) -> tuple[str, ...]:
        outputs = (out for _, _, outs in self.generated for out in outs)
        return tuple(p for p in (*self.direct, *outputs) if language(p) in ("c", "cxx"))


def split_sources(project: Project, settings: RuleSettings) -> Sources:
    direct: list[str] = []
    generated = []
    for source in project.sources:
        gen = _generator_of(source, settings)
        if gen is not None:
            stem = _stem(source.path)
            outputs = tuple(
                f"{project.obj_dir}/{_expand(pattern, {'stem': stem})}" for pattern in gen.outputs
            )
            generated.append((source, gen, outputs))
        elif language(source.path) is None:
            raise DescriptorError(
                f"don't know how to build '{source.path}'",
                hint="SOURCES takes C/C++ files, headers, and files of a generator in [generators] "
                "(buildconf/enlist.toml)",
                location=source.location,
            )
        else:
            direct.append(source.path)
    return Sources(direct=tuple(direct), generated=tuple(generated))


def has_cxx(project: Project, settings: RuleSettings) -> bool:
    return any(language(path) == "cxx" for path in split_sources(project, settings).compiled)


def project_actions(project: Project, ctx: Context) -> list[Action]:
    sources = split_sources(project, ctx.settings)
    generate = [_generate(project, source, gen, outputs, ctx) for source, gen, outputs in sources.generated]
    flags = compile_flags(project, ctx.spec)
    compiles = [_compile(project, path, flags, ctx) for path in sources.compiled]
    target = _target(project, compiles, ctx)
    actions = [*generate, *compiles, *([target] if target else [])]
    actions += _publishes(project)
    actions += _tests(project, target, ctx)
    return actions


def _generator_of(source: SourceFile, settings: RuleSettings) -> Generator | None:
    if source.generator is None:
        return settings.generator_for(source.path)
    gen = settings.generator(source.generator)
    if gen is None:
        raise DescriptorError(
            f"no code generator named '{source.generator}' for '{source.path}'",
            hint="declare it as [generators.NAME] in buildconf/enlist.toml",
            location=source.location,
        )
    return gen


def _generate(
    project: Project, source: SourceFile, gen: Generator, outputs: tuple[str, ...], ctx: Context
) -> Action:
    spec = ctx.spec
    tree = spec.restored(gen.package, f"[generators.{gen.name}]", gen.location)
    depfile = f"{outputs[0]}.d" if any("{depfile}" in arg for arg in gen.argv) else None
    values = {
        "tool": f"{tree.path}/{gen.tool}",
        "package": tree.path,
        "input": source.path,
        "output": outputs[0],
        "outdir": project.obj_dir,
        "depfile": depfile or "",
        "stem": _stem(source.path),
        "srcdir": source.path.rpartition("/")[0] or ".",
    }
    env = dict(ctx.toolchain.plain_env(0))
    env.update((key, _expand(value, values)) for key, value in gen.env)
    return Action(
        id=f"{project.dir}:generate:{_relative_name(project, source.path, spec)}",
        kind=ActionKind.GENERATE,
        project=project.dir,
        pass_=Pass.PASS0,
        argv=tuple(_expand(arg, values) for arg in gen.argv),
        inputs=(source.path,),
        outputs=tuple(sorted(outputs)),
        env=tuple(sorted(env.items())),
        depfile=depfile,
        description=f"GEN({gen.name}) {source.path}",
    )


def _compile(project: Project, path: str, flags: tuple[str, ...], ctx: Context) -> Action:
    spec = ctx.spec
    rel = _relative_name(project, path, spec)
    obj = f"{project.obj_dir}/{rel}.o"
    depfile = f"{project.obj_dir}/{rel}.d"
    cxx = language(path) == "cxx"
    argv = ctx.toolchain.compile_argv(path, obj, depfile, cxx=cxx, flags=flags)
    return Action(
        id=f"{project.dir}:compile:{rel}",
        kind=ActionKind.COMPILE,
        project=project.dir,
        pass_=Pass.PASS1,
        argv=argv,
        inputs=(path,),
        outputs=(obj,),
        env=ctx.toolchain.env(0),
        depfile=depfile,
        description=f"{'CXX' if cxx else 'CC'} {path}",
    )


def compile_flags(project: Project, spec: BuildSpec) -> tuple[str, ...]:
    """C_DEFINES, then INCLUDES, $(O) and the project directory as -I, then USER_C_FLAGS."""
    defines = [d.value if d.value.startswith(("-D", "-U")) else f"-D{d.value}" for d in project.defines]
    include_dirs = [*(i.value for i in project.includes), project.obj_dir, project.dir]
    includes = [f"-I{spec.absolute(path)}" for path in dict.fromkeys(include_dirs)]
    return (*defines, *includes, *(f.value for f in project.c_flags))


def _target(project: Project, compiles: list[Action], ctx: Context) -> Action | None:
    output = target_output(project)
    if output is None:
        return None
    spec = ctx.spec
    objects = [a.outputs[0] for a in compiles]
    if project.target_type is TargetType.LIBRARY:
        return Action(
            id=f"{project.dir}:archive",
            kind=ActionKind.ARCHIVE,
            project=project.dir,
            pass_=Pass.PASS1,
            argv=ctx.toolchain.archive_argv(output, objects),
            inputs=tuple(sorted(objects)),
            outputs=(output,),
            env=ctx.toolchain.env(0),
            description=f"AR {output}",
        )
    libs = [lib.value for lib in project.target_libs]
    inputs = [*objects, ctx.stamp_object, *libs]
    cxx = any(language(c.inputs[0]) == "cxx" for c in compiles) or any(
        lib in ctx.cxx_archives for lib in libs
    )
    argv = ctx.toolchain.link_argv(
        output,
        inputs,
        cxx=cxx,
        shared=project.target_type is TargetType.DYNLINK,
        flags=[f.value for f in project.linker_flags],
    )
    return Action(
        id=f"{project.dir}:link",
        kind=ActionKind.LINK,
        project=project.dir,
        pass_=Pass.PASS2,
        argv=argv,
        inputs=tuple(sorted(set(inputs))),
        outputs=(output,),
        env=ctx.toolchain.env(spec.revision.time),
        description=f"LINK {output}",
    )


def _publishes(project: Project) -> list[Action]:
    actions = []
    for pass_ in sorted({p.pass_ for p in project.publish}):
        pairs = sorted({(p.src, p.dest) for p in project.publish if p.pass_ is pass_})
        actions.append(
            Action(
                id=f"{project.dir}:publish:{pass_.label}",
                kind=ActionKind.PUBLISH,
                project=project.dir,
                pass_=pass_,
                argv=(),
                inputs=tuple(sorted({src for src, _ in pairs})),
                outputs=tuple(sorted(d for _, d in pairs)),
                publish=tuple(pairs),
                description=f"PUBLISH {project.dir} {pass_.label}",
            )
        )
    return actions


def _tests(project: Project, target: Action | None, ctx: Context) -> list[Action]:
    actions: list[Action] = []
    seen: dict[str, int] = {}
    names = {project.target_name, f"{project.target_name}.exe"} if project.target_name else set()
    for test in project.tests:
        program = target.outputs[0] if target and test.program in names else test.program
        base = program.rpartition("/")[2]
        seen[base] = seen.get(base, 0) + 1
        suffix = "" if seen[base] == 1 else f".{seen[base]}"
        log = f"{project.obj_dir}/{base}{suffix}.test.log"
        actions.append(
            Action(
                id=f"{project.dir}:test:{base}{suffix}",
                kind=ActionKind.TEST,
                project=project.dir,
                pass_=Pass.POSTBUILD,
                argv=(ctx.spec.absolute(program), *test.args),
                inputs=(program,),
                outputs=(log,),
                env=ctx.toolchain.plain_env(0),
                cwd=project.dir,
                stdout=log,
                description=f"TEST {program}",
            )
        )
    return actions


def _relative_name(project: Project, path: str, spec: BuildSpec) -> str:
    for prefix in (project.obj_dir, project.dir):
        if prefix in ("", "."):
            return path if not path.startswith("/") else path.lstrip("/")
        if path.startswith(prefix + "/"):
            return path[len(prefix) + 1 :]
    for tree in spec.packages:
        if path.startswith(tree.path + "/"):
            return f"_pkg/{tree.name}/{path[len(tree.path) + 1 :]}"
    return "_/" + path.lstrip("/")


def _stem(path: str) -> str:
    name = path.rpartition("/")[2]
    return name.rpartition(".")[0] or name


def _expand(template: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template
