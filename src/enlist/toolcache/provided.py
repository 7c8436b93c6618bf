"""Packages that provide a public tree (L2): what a partial enlistment consumes instead of building.

A package listed in packages.toml with `provides = "public"` is an archive whose tree holds
`public/<config>/...`, as `enlist build --official` packages it (docs/official.md). For the config being built,
every file below the tree's `public/<config>/` takes the same place under the enlistment's `public/<config>/`
($(PUBLIC_ROOT)): the graph counts those paths as provided, and the planner copies them there with one overlay
action per package (`enlist.rules.planner.overlay_action`).

    trees, warnings = provided_trees(environment, "chk-amd64")      # warnings: Diagnostics
    trees[0].files   # (("/cache/.../trees/ab/ab12.../public/chk-amd64/inc/replica.h",
                     #   "public/chk-amd64/inc/replica.h"), ...)
"""

from __future__ import annotations

import os
from pathlib import Path

from enlist.errors import ConfigError, Location
from enlist.model.diagnostic import Diagnostic, Severity
from enlist.model.packages import PackageEnvironment, RestoredPackage
from enlist.rules.spec import ProvidedTree
from enlist.workspace import PACKAGES_TOML

PUBLIC = "public"


def provided_trees(packages: PackageEnvironment, config: str) -> tuple[list[ProvidedTree], list[Diagnostic]]:
    """The provided trees of `config`, and a warning for each package that has nothing for it."""
    trees: list[ProvidedTree] = []
    warnings: list[Diagnostic] = []
    for package in packages.packages:
        if package.provides != PUBLIC:
            continue
        files = _files(package, config)
        if not files:
            have = ", ".join(sorted(_configs(package))) or "nothing"
            message = f"package '{package.name}' {package.version} provides nothing for {config} (it has {have})"
            warnings.append(Diagnostic(Location(PACKAGES_TOML.as_posix()), Severity.WARNING, message))
        trees.append(ProvidedTree(package.name, package.version, tuple(files)))
    return trees, warnings


def provided_paths(trees: list[ProvidedTree]) -> list[str]:
    """Every enlistment-relative path the trees provide (what the loader's graph treats as published)."""
    return sorted(dest for tree in trees for _, dest in tree.files)


def _configs(package: RestoredPackage) -> list[str]:
    public = Path(package.tree) / PUBLIC
    return [p.name for p in public.iterdir() if p.is_dir()]


def _files(package: RestoredPackage, config: str) -> list[tuple[str, str]]:
    tree = Path(package.tree)
    if not (tree / PUBLIC).is_dir():
        raise ConfigError(
            f"package '{package.name}' {package.version} has provides = \"public\" but no public/ tree",
            location=Location(PACKAGES_TOML.as_posix()),
            hint="only packages made by `enlist build --official` (or laid out as public/<config>/...) "
            "can provide a public tree",
        )
    base = tree / PUBLIC / config
    found: list[tuple[str, str]] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(tree).as_posix()
            found.append((full.as_posix(), rel))
    return sorted(found, key=lambda pair: pair[1])
