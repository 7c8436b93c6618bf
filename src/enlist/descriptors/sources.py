"""A `sources` file evaluated into an `enlist.model.project.Project` (L1, pure).

Keys (DESIGN.md §4), each read from the evaluation of the pass that uses it, as build.exe did: a file that
tests `$(BUILD_PASS)` is evaluated once per pass; any other file once.

    key              pass       meaning
    TARGETNAME       pass1      the target's name: `replica` builds libreplica.a, libreplica.so or replica
    TARGETTYPE       pass1      PROGRAM, LIBRARY, DYNLINK or NOTARGET (required)
    SOURCES          pass1      files, relative to the project; generator files (by extension) run in pass0
    INCLUDES         pass1      directories, separated by `;` or spaces
    C_DEFINES        pass1      compiler words, e.g. -DWIN32
    USER_C_FLAGS     pass1      compiler words
    PASS0_PUBLISH    pass0      {src=dest} pairs; dest under $(PUBLIC_ROOT)
    PASS1_PUBLISH    pass1      idem
    PASS2_PUBLISH    pass2      idem
    BUILD_PRODUCES   pass1      ordering tags this project produces
    BUILD_CONSUMES   pass1      ordering tags whose producers must finish first
    TARGETLIBS       pass2      libraries to link (x.lib means libx.a)
    LINKER_FLAGS     pass2      linker words
    TEST_PROGRAMS    postbuild  programs to run: a bare name is a program in $(O), otherwise a path
    TEST_ARGS        postbuild  arguments given to each test program

Words are split on whitespace; a double-quoted stretch stays one word (quotes removed). Every other macro a
descriptor assigns (UMTYPE, ...) is kept, expanded, in `Project.macros` for the planner; the keys above
are not repeated there.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from enlist.descriptors.context import APPENDABLE, Context
from enlist.descriptors.evaluator import Evaluation, Reader, capped
from enlist.descriptors.limits import MAX_ITEMS, quote
from enlist.descriptors.macros import Macros
from enlist.descriptors.paths import PathPolicy, is_under, platform_name
from enlist.descriptors.text import Text, words
from enlist.errors import DescriptorError, Location
from enlist.model.diagnostic import Diagnostic, Severity
from enlist.model.project import Item, Pass, Project, Publish, SourceFile, TargetType, TestProgram

KEY_PASS: dict[str, Pass] = {
    "TARGETNAME": Pass.PASS1,
    "TARGETTYPE": Pass.PASS1,
    "SOURCES": Pass.PASS1,
    "INCLUDES": Pass.PASS1,
    "C_DEFINES": Pass.PASS1,
    "USER_C_FLAGS": Pass.PASS1,
    "PASS0_PUBLISH": Pass.PASS0,
    "PASS1_PUBLISH": Pass.PASS1,
    "PASS2_PUBLISH": Pass.PASS2,
    "BUILD_PRODUCES": Pass.PASS1,
    "BUILD_CONSUMES": Pass.PASS1,
    "TARGETLIBS": Pass.PASS2,
    "LINKER_FLAGS": Pass.PASS2,
    "TEST_PROGRAMS": Pass.POSTBUILD,
    "TEST_ARGS": Pass.POSTBUILD,
}
TARGETNAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
PUBLISH_RE = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class EvaluatedProject:
    project: Project
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[str, ...]  # the descriptor and every file it included, in the order read


class Keys:
    """Reads keys from the per-pass evaluations of one project."""

    def __init__(self, evaluations: dict[Pass, Evaluation], context: Context, project_dir: str) -> None:
        self.evaluations = evaluations
        self.context = context
        self.dir = project_dir
        self.descriptor = f"{project_dir}/sources" if project_dir else "sources"
        self.paths = PathPolicy(context.root, context.package_roots)
        self.protect = tuple(r for r in (context.root, *context.package_roots) if any(c.isspace() for c in r))
        self.count = 0  # list entries read so far (limits.MAX_ITEMS)

    def text(self, key: str) -> Text:
        return self.evaluations[KEY_PASS[key]].macros.get(key) or Text("")

    def words(self, key: str, separators: str = "") -> Iterator[tuple[str, Location]]:
        for word, location in words(self.text(key), separators, self.protect):
            self.count += 1
            if self.count > MAX_ITEMS:
                raise DescriptorError(
                    f"over {MAX_ITEMS} list entries in one descriptor (at {key})",
                    location=location,
                    hint="split a project this large into several projects",
                )
            yield word, location

    def items(self, key: str) -> tuple[Item, ...]:
        return tuple(Item(word, location) for word, location in self.words(key) if word)

    def where(self, key: str) -> Location:
        macros = self.evaluations[KEY_PASS[key]].macros
        return macros.assigned.get(key) or Location(self.descriptor)

    def path(self, raw: str, location: Location, key: str) -> str:
        return self.paths.resolve(raw, self.dir, location, f"{key} entry")


def evaluate_project(project_dir: str, read: Reader, context: Context) -> EvaluatedProject:
    """Evaluate `<project_dir>/sources` (enlistment-relative) for `context`."""
    evaluations = {Pass.PASS1: _evaluate(project_dir, read, context, Pass.PASS1)}
    if "BUILD_PASS" in evaluations[Pass.PASS1].macros.looked_up:
        for pass_ in (Pass.PASS0, Pass.PASS2, Pass.POSTBUILD):
            evaluations[pass_] = _evaluate(project_dir, read, context, pass_)
    else:
        evaluations.update(dict.fromkeys((Pass.PASS0, Pass.PASS2, Pass.POSTBUILD), evaluations[Pass.PASS1]))
    keys = Keys(evaluations, context, project_dir)
    project = _project(keys)
    distinct = {id(e): e for e in evaluations.values()}.values()  # a pass may share another's evaluation
    diagnostics = capped(
        [*(d for e in distinct for d in e.diagnostics), *_near_misses(evaluations[Pass.PASS1].macros)],
        any(e.truncated for e in distinct),
        keys.descriptor,
    )
    files = dict.fromkeys(f for e in distinct for f in e.files)
    return EvaluatedProject(project, diagnostics, tuple(files))


def _evaluate(project_dir: str, read: Reader, context: Context, pass_: Pass) -> Evaluation:
    initial = {
        name: Text.plain(value, Location(_descriptor(project_dir)))
        for name, value in context.initial_values().items()
    }
    macros = Macros(
        context.fixed_macros(project_dir, pass_), obj_relative=f"obj/{context.config}", values=initial
    )
    evaluation = Evaluation(
        macros, read, PathPolicy(context.root, context.package_roots), strict=context.strict
    )
    evaluation.run(_descriptor(project_dir))
    return evaluation


def _descriptor(project_dir: str) -> str:
    return f"{project_dir}/sources" if project_dir else "sources"


def _project(keys: Keys) -> Project:
    target_type, type_location = _target_type(keys)
    target_name, name_location = _target_name(keys, target_type)
    macros = keys.evaluations[Pass.PASS1].macros
    return Project(
        dir=keys.dir,
        descriptor=keys.descriptor,
        target_name=target_name,
        target_type=target_type,
        target_location=name_location or type_location,
        obj_dir=keys.context.obj_dir(keys.dir),
        sources=_sources(keys),
        includes=_includes(keys),
        defines=keys.items("C_DEFINES"),
        c_flags=keys.items("USER_C_FLAGS"),
        linker_flags=keys.items("LINKER_FLAGS"),
        target_libs=tuple(
            Item(platform_name(keys.path(word, loc, "TARGETLIBS")), loc)
            for word, loc in keys.words("TARGETLIBS")
        ),
        publish=tuple(p for pass_ in (Pass.PASS0, Pass.PASS1, Pass.PASS2) for p in _publish(keys, pass_)),
        produces=keys.items("BUILD_PRODUCES"),
        consumes=keys.items("BUILD_CONSUMES"),
        tests=_tests(keys),
        macros=tuple(sorted((n, macros.values[n].value) for n in macros.assigned if n not in KEY_PASS)),
    )


def _target_type(keys: Keys) -> tuple[TargetType, Location]:
    found = list(keys.words("TARGETTYPE"))
    if not found:
        raise DescriptorError(
            "TARGETTYPE is not set",
            location=Location(keys.descriptor),
            hint="one of PROGRAM, LIBRARY, DYNLINK, NOTARGET",
        )
    word, location = found[0]
    if len(found) > 1 or word.upper() not in TargetType.__members__:
        raise DescriptorError(
            f"unknown TARGETTYPE '{quote(keys.text('TARGETTYPE').value)}'",
            location=location,
            hint="one of PROGRAM, LIBRARY, DYNLINK, NOTARGET",
        )
    return TargetType[word.upper()], location


def _target_name(keys: Keys, target_type: TargetType) -> tuple[str | None, Location | None]:
    found = list(keys.words("TARGETNAME"))
    if not found:
        if target_type is TargetType.NOTARGET:
            return None, None
        raise DescriptorError(
            f"TARGETNAME is not set (TARGETTYPE is {target_type.value})",
            location=keys.where("TARGETTYPE"),
            hint="name the target: TARGETNAME = name",
        )
    word, location = found[0]
    if len(found) > 1 or not TARGETNAME_RE.fullmatch(word):
        raise DescriptorError(
            f"bad TARGETNAME '{quote(keys.text('TARGETNAME').value)}'",
            location=location,
            hint="one word of letters, digits, '_', '.', '+', '-', without a path or an extension",
        )
    return word, location


def _sources(keys: Keys) -> tuple[SourceFile, ...]:
    seen: dict[str, Location] = {}
    result: list[SourceFile] = []
    generators = {ext.lower(): name for ext, name in keys.context.generators.items()}
    for word, location in keys.words("SOURCES"):
        path = keys.path(word, location, "SOURCES")
        if path in seen:
            raise DescriptorError(
                f"'{quote(word)}' is listed twice in SOURCES",
                location=location,
                hint=f"it is already at {seen[path]}",
            )
        seen[path] = location
        ext = "." + path.rpartition(".")[2].lower() if "." in path.rpartition("/")[2] else ""
        result.append(SourceFile(path, location, generators.get(ext)))
    return tuple(result)


def _includes(keys: Keys) -> tuple[Item, ...]:
    seen: set[str] = set()
    result: list[Item] = []
    for word, location in keys.words("INCLUDES", ";"):
        path = keys.path(word, location, "INCLUDES")
        if path not in seen:
            seen.add(path)
            result.append(Item(path, location))
    return tuple(result)


def _publish(keys: Keys, pass_: Pass) -> Iterator[Publish]:
    key = f"PASS{int(pass_)}_PUBLISH"
    text = keys.text(key)
    public = keys.context.public_root
    rest = PUBLISH_RE.sub(lambda m: " " * len(m.group(0)), text.value)
    stray = next((i for i, c in enumerate(rest) if not (c.isspace() or c == ";")), None)
    if stray is not None:
        raise DescriptorError(
            f"{key}: expected {{src=dest}} pairs, found '{quote(text.value[stray:].split()[0])}'",
            location=text.location_at(stray),
            hint=f"write {key} = {{$(O)\\name.lib=$(PUBLIC_ROOT)\\lib\\name.lib}}",
        )
    for match in PUBLISH_RE.finditer(text.value):
        location = text.location_at(match.start())
        src, equals, dest = match.group(1).partition("=")
        if not equals or not src.strip() or not dest.strip():
            raise DescriptorError(
                f"{key}: expected {{src=dest}}, found '{quote(match.group(0))}'", location=location
            )
        src_path = platform_name(keys.path(src.strip(), location, key))
        dest_path = platform_name(keys.path(dest.strip(), location, key))
        if not is_under(dest_path, public) or dest_path == public:
            raise DescriptorError(
                f"{key}: destination '{quote(dest_path)}' is not under $(PUBLIC_ROOT) ({public})",
                location=location,
                hint="publish into the public tree, e.g. $(PUBLIC_ROOT)\\inc\\name.h",
            )
        yield Publish(pass_, src_path, dest_path, location)


def _tests(keys: Keys) -> tuple[TestProgram, ...]:
    args = tuple(word for word, _ in keys.words("TEST_ARGS"))
    obj_dir = keys.context.obj_dir(keys.dir)
    result: list[TestProgram] = []
    for word, location in keys.words("TEST_PROGRAMS"):
        if "/" in word or "\\" in word:
            program = platform_name(keys.path(word, location, "TEST_PROGRAMS"))
        else:
            program = f"{obj_dir}/{platform_name(word)}"
        result.append(TestProgram(program, args, location))
    return tuple(result)


def _near_misses(macros: Macros) -> Iterator[Diagnostic]:
    """A key assigned, never read and close to a sources key is most likely a typo (SOURCE, TARGETLIB)."""
    known = [*KEY_PASS, *APPENDABLE]
    for name, location in macros.assigned.items():
        if name in KEY_PASS or name in macros.looked_up:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        if close:
            yield Diagnostic(
                location, Severity.WARNING, f"{name} is not a sources key; did you mean {close[0]}?"
            )
