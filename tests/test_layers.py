"""The layer rule of DESIGN.md §6, checked over the source with `ast`: imports go downward only, pure logic does no
I/O, and only the console imports rich."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "enlist"

# First component under `enlist.` -> layer. A module not listed here fails the test: place it deliberately.
# fmt: off
LAYERS: dict[str, int] = {
    "errors": 0, "digest": 0, "canonical": 0, "model": 0,
    "descriptors": 1, "graph": 1, "engine": 1, "lockfile": 1, "rules": 1, "packagesfile": 1, "divergence": 1,
    "fsio": 2, "toolcache": 2, "store": 2, "execute": 2, "publish": 2, "config": 2, "vcs": 2, "workspace": 2,
    "toolchain": 2, "manifest": 2, "compdb": 2, "loader": 2, "release": 2, "snapshot": 2, "diffreport": 2,
    "cacheroot": 2,
    "console": 3, "app": 3, "cli": 3, "commands": 3, "resources": 3, "__main__": 3, "__init__": 3,
}
# fmt: on
# Modules that bring I/O: forbidden below L2.
IO_MODULES = {
    "subprocess",
    "socket",
    "requests",
    "urllib.request",
    "http",
    "sqlite3",
    "shutil",
    "tempfile",
    "rich",
}
THIRD_PARTY_L0 = {"networkx", "requests", "rich"}


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def component(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[int, str]] = []
    package = ".".join(("enlist", *path.relative_to(SRC).with_suffix("").parts[:-1]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_module_respects_its_layer(path: Path) -> None:
    comp = component(path)
    assert comp in LAYERS, f"{path.relative_to(SRC)}: place '{comp}' in a layer (DESIGN.md §6)"
    layer = LAYERS[comp]
    for lineno, name in imports(path):
        where = f"{path.relative_to(SRC)}:{lineno}"
        if name.startswith("enlist."):
            target = name.split(".")[1]
            assert target in LAYERS, f"{where}: imports unknown module enlist.{target}"
            assert LAYERS[target] <= layer, f"{where}: L{layer} '{comp}' imports L{LAYERS[target]} '{target}'"
        root = name.split(".")[0]
        if layer <= 1:
            assert name not in IO_MODULES and root not in IO_MODULES, f"{where}: pure logic imports I/O '{name}'"
        if layer == 0:
            assert root not in THIRD_PARTY_L0, f"{where}: foundations are stdlib only, not '{name}'"
        if root == "rich":
            assert comp == "console", f"{where}: only enlist.console may import rich"


def test_the_layer_table_names_only_existing_modules() -> None:
    present = {component(p) for p in modules()}
    assert {"errors", "cli", "commands"} <= present
