"""The planner (L1, pure): evaluated projects + the project graph's edges + toolchain settings -> a `Plan`.

    plan(projects, consumptions, settings=..., spec=...) -> Plan

Edges of the plan: data edges are implicit (an action that lists another's output among its inputs runs after
it); `after` holds the order-only edges that no declared input shows, because headers are discovered only by
the compiler's depfile after a first run:
- a project's compiles wait for its own generate actions (generated headers);
- a project's actions of pass N wait for its own publish actions of the passes before N (Razzle's order within
  one project);
- for each `Consumption` (consumer, consumer pass, producer, producer pass) from the project graph, the
  consumer's actions of that pass and later wait for the producer's publish action of that pass, or for all of
  the producer's actions of that pass where it publishes nothing. Other passes stay free: a consumer compiles
  while the library it links is still being built.

The version stamp (`enlist.rules.stamp`) is one STAMP action (project ".") compiled in pass2; every LINK lists
its object as an input. Nothing else depends on it.

Packages with `provides = "public"` (a partial enlistment consumes them instead of building them) become one
PUBLISH action each (project ".", pass0, described as `OVERLAY name version`) that copies the files of the
package tree's `public/<config>/` into $(PUBLIC_ROOT). Every other action waits for them: consumers find those
files by headers the compiler discovers, which no declared input shows. Being actions, overlaid files are
checked, restored when deleted and removed when the package goes, like any output.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from enlist.errors import GraphError, Location
from enlist.model.action import Action, ActionKind, PathRoots
from enlist.model.project import Pass, Project
from enlist.rules import stamp
from enlist.rules.project_rules import Context, has_cxx, project_actions, target_output
from enlist.rules.settings import RuleSettings
from enlist.rules.spec import BuildSpec, Consumption, GeneratedFile, Plan, ProvidedTree
from enlist.rules.toolchain import Toolchain, resolve

STAMP_PROJECT = "."
PASSES = tuple(Pass)


def plan(
    projects: Sequence[Project],
    consumptions: Iterable[Consumption] = (),
    *,
    settings: RuleSettings,
    spec: BuildSpec,
    provided: Sequence[ProvidedTree] = (),
) -> Plan:
    toolchain = resolve(settings, spec)
    projects = sorted(projects, key=lambda p: p.dir)
    stamp_dir = stamp.stamp_dir(spec.config)
    ctx = Context(
        settings=settings,
        spec=spec,
        toolchain=toolchain,
        stamp_object=f"{stamp_dir}/{stamp.STAMP_OBJECT}",
        cxx_archives=_cxx_archives(projects, settings),
    )
    actions: list[Action] = []
    for project in projects:
        actions += project_actions(project, ctx)
    files: tuple[GeneratedFile, ...] = ()
    if any(a.kind is ActionKind.LINK for a in actions):
        version = stamp.stamp_version(spec.version, official=spec.official, build_number=spec.build_number)
        source = GeneratedFile(
            f"{stamp_dir}/{stamp.STAMP_SOURCE}", stamp.stamp_source(version, spec.revision)
        )
        actions.append(_stamp_action(source.path, ctx.stamp_object, toolchain, spec))
        files = (source,)
    actions = _with_order_edges(actions, consumptions)
    overlays = [overlay_action(tree) for tree in provided if tree.files]
    if overlays:
        first = tuple(a.id for a in overlays)
        actions = [a._replace(after=tuple(sorted({*a.after, *first}))) for a in actions] + overlays
    _check_outputs(actions, projects)
    return Plan(
        actions=tuple(sorted(actions, key=lambda a: a.id)), roots=_roots(spec, toolchain), files=files
    )


def _stamp_action(source: str, obj: str, toolchain: Toolchain, spec: BuildSpec) -> Action:
    depfile = obj.removesuffix(".o") + ".d"
    argv = toolchain.compile_argv(source, obj, depfile, cxx=False, flags=())
    return Action(
        id=f"{STAMP_PROJECT}:stamp",
        kind=ActionKind.STAMP,
        project=STAMP_PROJECT,
        pass_=Pass.PASS2,
        argv=argv,
        inputs=(source,),
        outputs=(obj,),
        env=toolchain.env(spec.revision.time),
        depfile=depfile,
        description=f"STAMP {source}",
    )


def overlay_action(tree: ProvidedTree) -> Action:
    """The PUBLISH action that copies a provided package's public tree into $(PUBLIC_ROOT)."""
    return Action(
        id=f"{STAMP_PROJECT}:overlay:{tree.name}-{tree.version}",
        kind=ActionKind.PUBLISH,
        project=STAMP_PROJECT,
        pass_=Pass.PASS0,
        argv=(),
        inputs=tuple(sorted(src for src, _ in tree.files)),
        outputs=tuple(sorted(dest for _, dest in tree.files)),
        publish=tuple(sorted(tree.files)),
        description=f"OVERLAY {tree.name} {tree.version}",
    )


def _cxx_archives(projects: Sequence[Project], settings: RuleSettings) -> frozenset[str]:
    """Static libraries with C++ objects, and their published copies: linking them needs the C++ driver."""
    archives = set()
    for project in projects:
        output = target_output(project)
        if output and output.endswith(".a") and has_cxx(project, settings):
            archives.add(output)
            archives.update(p.dest for p in project.publish if p.src == output)
    return frozenset(archives)


def _check_outputs(actions: list[Action], projects: Sequence[Project]) -> None:
    where = {p.dir: p.target_location for p in projects}
    writer: dict[str, Action] = {}
    for action in actions:
        for output in action.outputs:
            first = writer.setdefault(output, action)
            if first is not action:
                raise GraphError(
                    f"'{output}' is written by two actions: {first.label} and {action.label}",
                    hint="rename one of the sources or publish destinations so each output has one writer",
                    location=where.get(action.project, Location(action.project)),
                )


def _with_order_edges(actions: list[Action], consumptions: Iterable[Consumption]) -> list[Action]:
    by_pass: dict[tuple[str, Pass], list[Action]] = defaultdict(list)
    publishes: dict[tuple[str, Pass], str] = {}
    for action in actions:
        if action.kind is ActionKind.PUBLISH:
            publishes[(action.project, action.pass_)] = action.id
        elif action.kind is not ActionKind.TEST:
            by_pass[(action.project, action.pass_)].append(action)

    def finish(project: str, pass_: Pass) -> list[str]:
        if (project, pass_) in publishes:
            return [publishes[(project, pass_)]]
        return [a.id for a in by_pass.get((project, pass_), [])]

    consumed: dict[str, list[Consumption]] = defaultdict(list)
    for edge in consumptions:
        if edge.producer != edge.consumer:
            consumed[edge.consumer].append(edge)
    memo: dict[tuple[str, Pass, ActionKind], frozenset[str]] = {}

    def order_edges(project: str, pass_: Pass, kind: ActionKind) -> frozenset[str]:
        after: set[str] = set()
        if kind is ActionKind.COMPILE:
            after.update(a.id for a in by_pass.get((project, Pass.PASS0), []))
        if kind is not ActionKind.PUBLISH:
            after.update(publishes[(project, p)] for p in PASSES[: int(pass_)] if (project, p) in publishes)
        for edge in consumed.get(project, ()):
            if pass_ >= edge.consumer_pass:
                after.update(finish(edge.producer, edge.producer_pass))
        return frozenset(after)

    result = []
    for action in actions:
        key = (action.project, action.pass_, action.kind)
        if key not in memo:
            memo[key] = order_edges(*key)
        after = (memo[key] | set(action.after)) - {action.id}
        result.append(action._replace(after=tuple(sorted(after))) if after else action)
    return result


def _roots(spec: BuildSpec, toolchain: Toolchain) -> PathRoots:
    pairs = {(tree.path, tree.symbol) for tree in spec.packages} | set(toolchain.extra_roots)
    return PathRoots(enlistment=spec.root, packages=tuple(sorted(pairs, key=lambda p: (-len(p[0]), p[0]))))
