"""The summary of a build: counts per pass, cache hits, failures, skips, tests (L3).

`summarise` turns a `BuildResult` into the plain dict written as `out/<config>/build.json` (schema below) and
rendered as the final table. build.json has no timestamps and no absolute paths; durations are in seconds.

    {
      "config": "chk-amd64",
      "result": "succeeded",            # succeeded | failed | interrupted | nothing to do
      "exit_code": 0,
      "seconds": 12.345,                # wall time of the build
      "jobs": 2,
      "counts": {"actions": 412, "ran": 40, "cached": 3, "up_to_date": 369, "failed": 0, "skipped": 0,
                 "not_started": 0, "interrupted": 0},
      "passes": {"pass1": {... the same counts ..., "seconds": 31.2}},   # seconds: sum of command times
      "cache": {"hits": 3, "executed": 40},
      "failures": [{"action": "...", "project": "...", "exit_code": 1, "message": "...", "errors": ["..."]}],
      "skipped": [{"action": "...", "project": "...", "because": "<failed action id>"}],
      "tests": [{"action": "...", "project": "...", "result": "passed", "seconds": 0.2}],
      "warnings": 2
    }
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from enlist.engine.builder import BuildResult
from enlist.engine.verdict import Outcome, Verdict
from enlist.model.action import ActionKind
from enlist.model.passes import Pass

COUNT_NAMES = ("ran", "cached", "up_to_date", "failed", "skipped", "not_started", "interrupted")
_TEST_RESULT = {"ran": "passed", "cached": "passed (cached)", "up_to_date": "passed (up to date)"}
_VERDICT_COUNT = {
    Verdict.RAN: "ran",
    Verdict.CACHED: "cached",
    Verdict.UP_TO_DATE: "up_to_date",
    Verdict.FAILED: "failed",
    Verdict.INTERRUPTED: "interrupted",
}


def result_word(result: BuildResult) -> str:
    if result.interrupted:
        return "interrupted"
    if not result.ok:
        return "failed"
    if not any(o.verdict in (Verdict.RAN, Verdict.CACHED) for o in result.outcomes.values()):
        return "nothing to do"
    return "succeeded"


def exit_code(result: BuildResult) -> int:
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


def _count_name(result: BuildResult, i: int) -> str:
    outcome = result.outcomes.get(i)
    if outcome is not None:
        return _VERDICT_COUNT.get(outcome.verdict, "failed")
    if i in result.skipped:
        return "skipped"
    if i in result.survey:
        return "not_started"
    return "up_to_date"


def summarise(
    result: BuildResult, *, config: str, seconds: float, jobs: int, warnings: int
) -> dict[str, Any]:
    actions = result.dag.actions
    labels = {int(p): p.label for p in Pass}
    totals = dict.fromkeys(COUNT_NAMES, 0)
    passes: dict[str, dict[str, Any]] = {}
    everything = len(result.selected) == len(actions)
    by_pass = Counter(actions.passes if everything else (actions.passes[i] for i in result.selected))
    for number, count in by_pass.items():
        passes[labels[number]] = {**dict.fromkeys(COUNT_NAMES, 0), "up_to_date": count, "seconds": 0.0}
    # only the actions the build looked at are anything but up to date: count those one by one
    for i in sorted({*result.survey, *result.outcomes, *result.skipped}):
        name = _count_name(result, i)
        per = passes[labels[actions.passes[i]]]
        per["up_to_date"] -= 1
        per[name] += 1
        outcome = result.outcomes.get(i)
        if outcome is not None and outcome.verdict in (Verdict.RAN, Verdict.FAILED):
            per["seconds"] = round(per["seconds"] + outcome.seconds, 3)
    for per in passes.values():
        for name in COUNT_NAMES:
            totals[name] += per[name]
    order = {p.label: int(p) for p in Pass}
    return {
        "config": config,
        "result": result_word(result),
        "exit_code": exit_code(result),
        "seconds": round(seconds, 3),
        "jobs": jobs,
        "counts": {"actions": len(result.selected), **totals},
        "passes": dict(sorted(passes.items(), key=lambda kv: order[kv[0]])),
        "cache": {"hits": totals["cached"], "executed": totals["ran"] + totals["failed"]},
        "failures": [_failure(result, result.outcomes[i]) for i in result.failed],
        "skipped": [
            {"action": actions[i].id, "project": actions[i].project, "because": actions[cause].id}
            for i, cause in sorted(result.skipped.items())
        ],
        "tests": _tests(result),
        "warnings": warnings,
    }


def _failure(result: BuildResult, outcome: Outcome) -> dict[str, Any]:
    action = result.dag.actions[outcome.index]
    return {
        "action": action.id,
        "project": action.project,
        "exit_code": outcome.exit_code,
        "message": outcome.message,
        "errors": error_lines(outcome.output),
    }


def _tests(result: BuildResult) -> list[dict[str, Any]]:
    tests = []
    table = result.dag.actions
    test = ActionKind.TEST.value
    for i in sorted(i for i, kind in enumerate(table.kinds) if kind == test and i in result.selected):
        outcome = result.outcomes.get(i)
        word = _count_name(result, i)
        verdict = _TEST_RESULT.get(word, word)
        seconds = round(outcome.seconds if outcome is not None else 0.0, 3)
        tests.append(
            {"action": table.ids[i], "project": table.projects[i], "result": verdict, "seconds": seconds}
        )
    return tests


def error_lines(output: str, limit: int = 50) -> list[str]:
    """The lines of a tool's output that say `error` (compiler diagnostics); all lines if none does."""
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines)[:limit]


def warning_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "warning:" in line.lower()]


def table(summary: dict[str, Any]) -> str:
    """The final summary as fixed-width text (the live console draws the same numbers with rich)."""
    head = ("pass", "ran", "cached", "up to date", "failed", "skipped")
    rows: list[tuple[str, ...]] = [head]
    for name, per in summary["passes"].items():
        rows.append((name, *(str(per[k]) for k in ("ran", "cached", "up_to_date", "failed", "skipped"))))
    c = summary["counts"]
    rows.append(("total", *(str(c[k]) for k in ("ran", "cached", "up_to_date", "failed", "skipped"))))
    widths = [max(len(r[k]) for r in rows) for k in range(len(head))]
    lines = ["  ".join(_cells(row, widths)) for row in rows]
    tail = f"{summary['result']} in {summary['seconds']} s ({summary['config']}, -j {summary['jobs']})"
    if c["not_started"] or c["interrupted"]:
        tail += f"; {c['not_started']} not started, {c['interrupted']} interrupted"
    return "\n".join([*lines, tail])


def _cells(row: tuple[str, ...], widths: list[int]) -> list[str]:
    pairs = enumerate(zip(row, widths, strict=True))
    return [cell.rjust(w) if k else cell.ljust(w) for k, (cell, w) in pairs]


def noop_summary(summary: dict[str, Any], seconds: object) -> dict[str, Any]:
    """What build.json says about a later build that finds nothing to do, given this successful build's
    summary."""

    def all_current(counts: dict[str, Any]) -> dict[str, Any]:
        total = sum(counts[k] for k in COUNT_NAMES)
        extra = {"actions": counts["actions"]} if "actions" in counts else {"seconds": 0.0}
        return {**dict.fromkeys(COUNT_NAMES, 0), **extra, "up_to_date": total}

    return {
        **summary,
        "result": "nothing to do",
        "exit_code": 0,
        "seconds": seconds,
        "counts": all_current(summary["counts"]),
        "passes": {name: all_current(per) for name, per in summary["passes"].items()},
        "cache": {"hits": 0, "executed": 0},
        "failures": [],
        "skipped": [],
        "tests": [{**t, "result": "passed (up to date)", "seconds": 0.0} for t in summary["tests"]],
    }
