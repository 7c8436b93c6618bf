"""A fake enlistment for the pure descriptor and graph tests: files in a dict, directories implied."""

from __future__ import annotations

from enlist.descriptors.context import Context
from enlist.descriptors.enlistment import Enlistment, evaluate_enlistment
from enlist.descriptors.tree import Kind
from enlist.graph.edges import build_graph
from enlist.graph.model import ProjectGraph

CONTEXT = Context(root="/enl", config="chk-amd64", generators={".re": "re2c"})


class FakeTree:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = {path: text.encode() for path, text in files.items()}
        self.dirs = {""} | {
            "/".join(path.split("/")[:i]) for path in files for i in range(1, path.count("/") + 1)
        }
        self.links: dict[str, str] = {}  # path -> the directory it names

    def kind(self, path: str) -> Kind:
        if path in self.files:
            return Kind.FILE
        return Kind.DIR if path in self.dirs or path in self.links else Kind.MISSING

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def identity(self, path: str) -> str:
        return self.links.get(path, path)


def load(files: dict[str, str], selection: tuple[str, ...] = ()) -> tuple[Enlistment, ProjectGraph]:
    enlistment = evaluate_enlistment(FakeTree(files), CONTEXT, selection)
    graph, _ = build_graph(enlistment.projects, config="chk-amd64")
    return enlistment, graph
