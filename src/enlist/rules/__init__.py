"""Toolchain rules and the planner (L1, pure): evaluated projects + toolchain settings -> actions.

- `settings`: the `[toolchain]`, `[configs.*]` and `[generators.*]` tables of `buildconf/enlist.toml`,
  validated.
- `spec`: what one build is (config, revision, package trees, caches) and the `Plan` the planner returns.
- `toolchain`: the command lines of the toolchain (zig or host): compile, archive, link, and their
  environment.
- `planner`: projects -> actions (generate, compile, archive, link, stamp, publish, test) with their edges.
- `stamp`: the version stamp source linked into every program and shared library.
- `compdb`: `compile_commands.json` entries from a plan.

Nothing here does I/O: paths, host tools, environment values and the revision are handed in by the L2 callers
(`enlist.toolchain`, `enlist.vcs`). This package must not import subprocess, open files or read `os.environ`.
"""
