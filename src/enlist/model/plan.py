"""Plans: what the planner hands to the engine (L0).

A `Plan` is every action of an enlistment for one config, the `PathRoots` that make cache keys independent of
where things live, and the list of files whose content the plan was derived from (descriptors, their
`!INCLUDE`s, `buildconf/enlist.toml`, `buildconf/packages.lock`). The engine persists the plan with the stat
signature of those files; while none of them changes and the `PlanRequest` is the same, the next build reuses
the plan instead of loading descriptors again, and a build with nothing to do never imports the planner at
all.

The planner is any callable `(PlanRequest) -> Plan` (the `Planner` protocol). `enlist build` finds it lazily,
by module name (see `enlist.commands.build`), so the no-op path pays nothing for it.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from enlist.model.action import Action, PathRoots


class PlanRequest(NamedTuple):
    """Everything a plan may depend on besides file contents. Two equal requests over unchanged files give
    equal plans: that is the contract that lets the engine reuse a plan without asking the planner."""

    root: str  # absolute path of the enlistment root
    config: str  # "chk-amd64"
    strict: bool = False  # undefined macros are errors
    build_number: int | None = None  # official builds only
    env: tuple[tuple[str, str], ...] = ()  # allowed host variables that are set (enlist.toml), sorted
    # The cache root (ENLIST_CACHE, resolved): the plan's commands name the tools restored there and zig's cache
    # in it, so a build with another cache needs another plan (its keys stay the same: paths there are symbolic).
    cache: str = ""

    def identity(self) -> tuple[object, ...]:
        """A plain tuple (no enlist types) that the no-op fast path compares without importing this module."""
        return (self.root, self.config, self.strict, self.build_number, self.env, self.cache)


class Plan(NamedTuple):
    config: str
    actions: tuple[Action, ...]
    roots: PathRoots
    sources: tuple[str, ...] = ()  # files the plan was derived from: enlistment-relative POSIX or absolute
    warnings: tuple[str, ...] = ()  # rendered "file:line: message" lines for build.wrn


class Planner(Protocol):
    def __call__(self, request: PlanRequest) -> Plan: ...
