"""`enlist build --check`, wired (L3): a determinism probe, in the spirit of `nix build --check`.

1. Build as usual (whatever is up to date or cached stays so).
2. Copy the enlistment's sources into a new temporary directory (`enlist.snapshot`: same commit, same
   changes, no outputs) and build the same request there with no cache at all: a throwaway action cache,
   every action executed, zig's per-tree cache empty. The toolcache and zig's libc are shared: they are
   inputs, not outputs. That build's output is kept quiet unless it fails.
3. Compare every action's outputs (the sha256 each build recorded), test logs excepted: they are reports, not
   artifacts, and a stress test may legitimately print different counts. An action whose cache key is the same
   in both builds but whose outputs differ is not deterministic: it is named first, with its files explained
   (`enlist.diffreport`); the actions that only inherited a difference follow.
4. Delete the temporary directory.

Exit codes: 0 every compared output is identical; 1 an output differs or the second build failed; otherwise
the first build's exit code (nothing is compared after a failed build).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from enlist import diffreport, divergence, snapshot
from enlist.app.build import AfterBuild, BuildRequest, Console, run_build
from enlist.errors import ExitCode
from enlist.model.action import ActionKind
from enlist.model.plan import Planner

if TYPE_CHECKING:
    from enlist.engine.builder import BuildResult
    from enlist.store.state import PlanState

NAMES = ("first", "second")
MAX_EXPLAINED = 10


@dataclass
class Captured:
    """An after-build hook that also keeps what the build did, for the comparison."""

    after: AfterBuild | None = None
    plan: PlanState | None = None
    result: BuildResult | None = None

    def __call__(self, plan: PlanState, result: BuildResult) -> None:
        if self.after is not None:
            self.after(plan, result)
        self.plan, self.result = plan, result

    def outputs(self) -> dict[str, divergence.ActionOutputs]:
        """action id -> its key and output digests, for every selected action with a record (no tests)."""
        if self.plan is None or self.result is None:
            return {}
        table, records = self.plan.actions, self.result.records
        found = {}
        for i in sorted(self.result.selected):
            action = table.ids[i]
            if table.kinds[i] == ActionKind.TEST.value or action not in records:
                continue
            record = records[action]
            files = dict(zip(table.outputs[i], record.outputs, strict=True))
            found[action] = divergence.ActionOutputs(label=table[i].label, key=record.key, files=files)
        return found

    def tests(self) -> int:
        if self.plan is None or self.result is None:
            return 0
        return sum(1 for i in self.result.selected if self.plan.actions.kinds[i] == ActionKind.TEST.value)


def check_build(
    request: BuildRequest, planner: Planner, console: Console, out: TextIO, *, after: AfterBuild | None = None
) -> int:
    """Build, build again elsewhere with no cache, compare (see the module docstring)."""
    first = Captured(after)
    code = run_build(request, planner, console, after=first)
    if code != ExitCode.OK:
        return code
    with tempfile.TemporaryDirectory(prefix="enlist-check-") as tmp:
        work = Path(tmp)
        console.notice(f"check: building again with no cache in a copy of the tree ({work})")
        copy = snapshot.snapshot(request.root, work / "tree").resolve()
        second = Captured()
        log = io.StringIO()
        from enlist.console.plain import PlainConsole

        code = run_build(_elsewhere(request, copy, work / "cache"), planner, PlainConsole(log), after=second)
        if code == ExitCode.INTERRUPTED:
            return code
        if code != ExitCode.OK:
            out.write(log.getvalue())
            out.write(f"check: the second build failed (exit code {code}), so nothing was compared\n")
            return ExitCode.BUILD_FAILED
        return _report(first, second, request.root, copy, work / "diff", out)


def _elsewhere(request: BuildRequest, root: Path, cache: Path) -> BuildRequest:
    return request._replace(
        root=root,
        plan_request=request.plan_request._replace(root=str(root)),
        options=request.options._replace(clean=True),
        read_cache=False,
        explain=False,
        cache=cache,
    )


def _report(first: Captured, second: Captured, root: Path, copy: Path, work: Path, out: TextIO) -> int:
    a, b = first.outputs(), second.outputs()
    differences = divergence.compare_actions(a, b)
    compared = len(set(a) & set(b))
    tests = f"; {divergence.plural(first.tests(), 'test log')} not compared" if first.tests() else ""
    if not differences:
        out.write(
            f"check: {divergence.plural(compared, 'action')} gave identical outputs in a second build with no "
            f"cache in another directory{tests}\n"
        )
        return ExitCode.OK
    out.write(
        f"check: {len(differences)} of {divergence.plural(compared, 'action')} gave different outputs in a second "
        f"build with no cache in another directory{tests}:\n"
    )
    culprits = [d for d in differences if d.culprit]
    for title, group in (
        ("not deterministic (same inputs, different outputs)", culprits),
        ("different because an input differs", [d for d in differences if not d.culprit]),
    ):
        if group:
            out.write(f"  {title}:\n")
        for difference in group:
            out.write(f"    {difference.label}  [{difference.action}]\n")
            out.write("".join(line + "\n" for line in divergence.file_table(difference.files, NAMES, "      ")))
    for difference in culprits[:MAX_EXPLAINED]:
        for file in difference.files:
            if file.recorded is not None and file.reproduced is not None:
                out.write(diffreport.explain(file.path, root / file.path, copy / file.path, names=NAMES, work=work))
    return ExitCode.BUILD_FAILED
