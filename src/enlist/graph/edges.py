"""From evaluated projects to the project graph (L1, pure; no networkx).

Edges, each with the descriptor lines that make it:
- pass order: a project's passes run in order (pass0 -> pass1 -> pass2 -> postbuild, for the passes it has);
- published: a path under $(PUBLIC_ROOT) that a project consumes depends on the (project, pass) publishing it.
  A file depends on its one publisher; a directory (an INCLUDES entry) on every publisher of anything below
  it (through one phony node per directory when there are more than PHONY_OVER of them, see `model.Node`);
- obj: a path in another project's $(O): its target depends on the pass that builds it, any other file or
  directory on the project's last pass up to pass1 (generated headers, objects);
- tag: BUILD_CONSUMES waits for the last pass of every project that BUILD_PRODUCES the tag.

What a project consumes, and in which pass: SOURCES in pass1 (generator files in pass0), INCLUDES in pass1,
TARGETLIBS in pass2, TEST_PROGRAMS in postbuild, the source of a PASSn_PUBLISH pair in pass n. A consumption
attaches to the project's first node at or after that pass; a project with no such node never reads it (the
INCLUDES of a header-only project), so it makes no edge, though a missing producer is still an error.

Errors (all reported together): a consumed public path that no project publishes and no package provides, a
destination published twice, two projects with the same target name and type, a path in the obj dir of a
directory that is not a project, a library in another project's obj dir that it does not build, and a cycle
(see `cycles`). A consumed tag that nobody produces is a warning.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import posixpath
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from enlist.errors import EnlistError, GraphError, Location, raise_all
from enlist.graph.cycles import check_acyclic
from enlist.graph.model import (
    Edge,
    EdgeKind,
    Node,
    ProjectGraph,
    Reason,
    passes_of,
    target_pass,
    target_path,
)
from enlist.model.diagnostic import Diagnostic, Severity
from enlist.model.project import Pass, Project, Publish

PHONY_OVER = 8  # a directory with more publishers than this is reached through a phony node


@dataclass(frozen=True, slots=True)
class Use:
    """One path a project consumes."""

    key: str  # the descriptor key that names it
    pass_: Pass
    path: str
    is_dir: bool
    location: Location


@dataclass(slots=True)
class Linker:
    projects: Sequence[Project]
    public_root: str
    provided: tuple[str, ...]
    config: str
    errors: list[EnlistError] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    reasons: dict[tuple[Node, Node], list[Reason]] = field(default_factory=lambda: defaultdict(list))
    passes: dict[str, tuple[Pass, ...]] = field(default_factory=dict)
    publishers: dict[str, tuple[Project, Publish]] = field(default_factory=dict)
    dests: list[str] = field(default_factory=list)
    by_obj_dir: dict[str, Project] = field(default_factory=dict)
    phony_nodes: dict[str, Node] = field(default_factory=dict)  # public directory -> its phony node
    under: dict[str, list[tuple[Project, Publish]]] = field(default_factory=dict)  # directory -> publishers

    def run(self) -> ProjectGraph:
        self.passes = {p.dir: passes_of(p) for p in self.projects}
        self.by_obj_dir = {p.obj_dir: p for p in self.projects}
        self._index_publishers()
        self._check_targets()
        for project in self.projects:
            self._pass_order(project)
            for use in uses(project):
                self._consume(project, use)
        self._tags()
        raise_all(self.errors)
        nodes = tuple(
            sorted(
                {Node(d, p) for d, passes in self.passes.items() for p in passes}
                | set(self.phony_nodes.values()),
                key=_node_key,
            )
        )
        edges = tuple(
            Edge(before, after, _unique(reasons))
            for (before, after), reasons in sorted(self.reasons.items(), key=lambda item: _pair_key(item[0]))
        )
        graph = ProjectGraph(nodes, edges, tuple(p.dir for p in self.projects))
        check_acyclic(graph)
        return graph

    def add(self, before: Node, after: Node, reason: Reason) -> None:
        self.reasons[(before, after)].append(reason)

    def attach(self, project: Project, pass_: Pass) -> Node | None:
        """The node of `project` that reads what it consumes in `pass_`, if it has one."""
        found = next((p for p in self.passes[project.dir] if p >= pass_), None)
        return None if found is None else Node(project.dir, found)

    def _pass_order(self, project: Project) -> None:
        for a, b in itertools.pairwise(self.passes[project.dir]):
            self.add(
                Node(project.dir, a),
                Node(project.dir, b),
                Reason(EdgeKind.PASS_ORDER, detail="passes run in order"),
            )

    def _index_publishers(self) -> None:
        for project in self.projects:
            for publish in project.publish:
                first = self.publishers.get(publish.dest)
                if first is not None:
                    self.errors.append(
                        GraphError(
                            f"'{publish.dest}' is published twice",
                            location=publish.location,
                            hint=f"it is already published at {first[1].location}",
                        )
                    )
                    continue
                self.publishers[publish.dest] = (project, publish)
        self.dests = sorted(self.publishers)

    def _check_targets(self) -> None:
        seen: dict[tuple[str, str], Project] = {}
        for project in self.projects:
            if project.target_name is None:
                continue
            key = (project.target_name, project.target_type.value)
            first = seen.setdefault(key, project)
            if first is not project:
                self.errors.append(
                    GraphError(
                        f"{project.dir} and {first.dir} both build"
                        f" {project.target_type.value} '{project.target_name}'",
                        location=project.target_location,
                        hint=f"the other TARGETNAME is at {first.target_location}; rename one of them",
                    )
                )

    def _consume(self, consumer: Project, use: Use) -> None:
        if posixpath.isabs(use.path):
            return  # a restored package tree: it is there before the build starts
        if use.path == self.public_root or use.path.startswith(self.public_root + "/"):
            self._consume_public(consumer, use)
        else:
            self._consume_obj(consumer, use)

    def _consume_public(self, consumer: Project, use: Use) -> None:
        if use.is_dir:
            found = self._published_under(use.path)
        else:
            entry = self.publishers.get(use.path)
            found = [entry] if entry else []
        if not found and not self._provided(use):
            self.errors.append(self._missing(use))
        after = self.attach(consumer, use.pass_)
        if after is None or not found:
            return
        if not use.is_dir:
            producer, publish = found[0]
            if producer.dir != consumer.dir or publish.pass_ >= after.pass_:
                self._published(after, use, producer, publish)
            return
        own = [x for x in consumer.publish if x.dest == use.path or x.dest.startswith(use.path + "/")]
        own_later = any(x.pass_ >= after.pass_ for x in own)
        if len(found) - len(own) > PHONY_OVER and not own_later:
            reason = Reason(EdgeKind.PUBLISHED, use.location, f"{use.key} {use.path}")
            self.add(self._phony(use.path, found), after, reason)
            return
        for producer, publish in found:
            if producer.dir != consumer.dir:
                self._published(after, use, producer, publish)

    def _published_under(self, directory: str) -> list[tuple[Project, Publish]]:
        found = self.under.get(directory)
        if found is None:
            lo = bisect.bisect_left(self.dests, directory + "/")
            hi = bisect.bisect_left(self.dests, directory + "0")  # "0" sorts right after "/"
            found = [self.publishers[d] for d in self.dests[lo:hi]]
            if directory in self.publishers:
                found.append(self.publishers[directory])
            self.under[directory] = found
        return found

    def _phony(self, directory: str, found: list[tuple[Project, Publish]]) -> Node:
        """The node gathering every publisher under `directory` (made once, shared by its consumers)."""
        node = self.phony_nodes.get(directory)
        if node is None:
            node = self.phony_nodes[directory] = Node(directory, max(x.pass_ for _, x in found), phony=True)
            for producer, publish in found:
                reason = Reason(EdgeKind.PUBLISHED, publish.location, f"publishes {publish.dest}")
                self.add(Node(producer.dir, publish.pass_), node, reason)
        return node

    def _published(self, after: Node, use: Use, producer: Project, publish: Publish) -> None:
        detail = f"{use.key} {use.path} needs {publish.dest}" if use.is_dir else f"{use.key} needs {use.path}"
        reason = Reason(EdgeKind.PUBLISHED, use.location, detail, publish.location)
        self.add(Node(producer.dir, publish.pass_), after, reason)

    def _provided(self, use: Use) -> bool:
        return any(
            use.path == p or use.path.startswith(p + "/") or (use.is_dir and p.startswith(use.path + "/"))
            for p in self.provided
        )

    def _missing(self, use: Use) -> GraphError:
        close = difflib.get_close_matches(use.path, self.dests, n=1, cutoff=0.8)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else (
                "publish it from the project that builds it (PASSn_PUBLISH = {src=dest})"
                " or from a package that provides it"
            )
        )
        what = "directory" if use.is_dir else "path"
        return GraphError(
            f"{use.key} names {what} '{use.path}', which no project publishes and no package provides",
            location=use.location,
            hint=hint,
        )

    def _consume_obj(self, consumer: Project, use: Use) -> None:
        owner = self._obj_owner(use.path)
        if owner is None:
            if f"/obj/{self.config}/" in f"/{use.path}/":
                self.errors.append(_not_a_project(use))
            return
        if owner.dir == consumer.dir:
            return
        if use.path == target_path(owner):
            before = Node(owner.dir, target_pass(owner))
            producer = owner.target_location
        elif use.key == "TARGETLIBS":
            self.errors.append(_not_its_target(use, owner))
            return
        else:
            passes = self.passes[owner.dir]
            before = Node(owner.dir, max((p for p in passes if p <= Pass.PASS1), default=passes[0]))
            producer = Location(owner.descriptor)
        after = self.attach(consumer, use.pass_)
        if after is not None:
            detail = f"{use.key} needs {use.path} from $(O) of {owner.dir}"
            self.add(before, after, Reason(EdgeKind.OBJ, use.location, detail, producer))

    def _obj_owner(self, path: str) -> Project | None:
        directory = path
        while directory:
            owner = self.by_obj_dir.get(directory)
            if owner is not None:
                return owner
            directory = posixpath.dirname(directory)
        return None

    def _tags(self) -> None:
        producers: dict[str, list[tuple[Project, Location]]] = defaultdict(list)
        for project in self.projects:
            for item in project.produces:
                producers[item.value].append((project, item.location))
        for consumer in self.projects:
            for item in consumer.consumes:
                found = [(p, loc) for p, loc in producers.get(item.value, []) if p.dir != consumer.dir]
                if not found:
                    self.warnings.append(
                        Diagnostic(
                            item.location,
                            Severity.WARNING,
                            f"no project produces '{item.value}' (BUILD_CONSUMES)",
                        )
                    )
                first = Node(consumer.dir, self.passes[consumer.dir][0])
                for producer, where in found:
                    before = Node(producer.dir, self.passes[producer.dir][-1])
                    reason = Reason(EdgeKind.TAG, item.location, f"BUILD_CONSUMES {item.value}", where)
                    self.add(before, first, reason)


def _node_key(node: Node) -> tuple[str, int, bool]:
    return (node.project, int(node.pass_), node.phony)  # the dataclass order, compared at C speed


def _pair_key(pair: tuple[Node, Node]) -> tuple[tuple[str, int, bool], tuple[str, int, bool]]:
    return (_node_key(pair[0]), _node_key(pair[1]))


def _unique(reasons: list[Reason]) -> tuple[Reason, ...]:
    if len(reasons) == 1:
        return (reasons[0],)
    return tuple(sorted(dict.fromkeys(reasons), key=lambda r: r.key))


def _not_its_target(use: Use, owner: Project) -> GraphError:
    built = target_path(owner)
    hint = (
        f"name the library it builds: {posixpath.basename(built)}" if built else f"{owner.dir} builds nothing"
    )
    if owner.target_type.value == "DYNLINK":
        hint = f"{owner.dir} is a DYNLINK: write {owner.target_name}.dll to link its shared library"
    return GraphError(
        f"TARGETLIBS names '{use.path}', which {owner.dir} does not build", location=use.location, hint=hint
    )


def _not_a_project(use: Use) -> GraphError:
    return GraphError(
        f"{use.key} names '{use.path}', in the obj dir of a directory that is not a project",
        location=use.location,
        hint="is it in DIRS of a dirs file (or in OPTIONAL_DIRS and named on the command line)?",
    )


def uses(project: Project) -> Iterator[Use]:
    for source in project.sources:
        yield Use(
            "SOURCES", Pass.PASS0 if source.generator else Pass.PASS1, source.path, False, source.location
        )
    for item in project.includes:
        yield Use("INCLUDES", Pass.PASS1, item.value, True, item.location)
    for item in project.target_libs:
        yield Use("TARGETLIBS", Pass.PASS2, item.value, False, item.location)
    for test in project.tests:
        yield Use("TEST_PROGRAMS", Pass.POSTBUILD, test.program, False, test.location)
    for publish in project.publish:
        yield Use(f"PASS{int(publish.pass_)}_PUBLISH", publish.pass_, publish.src, False, publish.location)


def build_graph(
    projects: Sequence[Project],
    *,
    config: str,
    public_provided: Sequence[str] = (),
) -> tuple[ProjectGraph, tuple[Diagnostic, ...]]:
    """The graph of `projects` (in dirs-walk order) and its warnings; raises every graph error at once."""
    linker = Linker(projects, f"public/{config}", tuple(p.rstrip("/") for p in public_provided), config)
    graph = linker.run()
    return graph, tuple(sorted(linker.warnings, key=lambda d: d.sort_key))
