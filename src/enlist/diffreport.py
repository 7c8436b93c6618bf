"""Readable differences between two versions of one file (L2), for `enlist reproduce` and `enlist build
--check`.

With diffoscope (the program named by `ENLIST_DIFFOSCOPE`, else `diffoscope` on PATH; `ENLIST_DIFFOSCOPE=none`
turns it off) the report is diffoscope's text report, which reads inside ELF files, archives and objects.
Without it: a unified diff for text files, and for other files their sizes and the first byte that differs,
with a hint to install diffoscope. enlist does not depend on diffoscope: it is found, never installed.

The two files are staged under `work/<name>/<path>` (hard links where possible) and compared from `work`, so
the report's headers read `recorded/public/chk-amd64/bin/app` and `reproduced/public/...`, not temporary paths.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import shutil
import subprocess
from pathlib import Path

from enlist.divergence import is_plain_path

MAX_LINES = 200  # of a text diff, per file
MAX_REPORT_BYTES = 200_000  # of a diffoscope report, per file
TIMEOUT_SECONDS = 600
_SNIFF = 8192


def diffoscope() -> str | None:
    """The diffoscope to run, or None."""
    chosen = os.environ.get("ENLIST_DIFFOSCOPE")
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "none", "0", "off") else chosen
    return shutil.which("diffoscope")


def explain(path: str, first: Path, second: Path, *, names: tuple[str, str], work: Path) -> str:
    """The difference between `first` and `second`, two versions of the enlistment file `path`, as text
    ending in a newline. `path` comes from a manifest: anything but a plain relative path is not staged."""
    if not is_plain_path(path):
        return f"{path}: not explained (not a path inside the enlistment)\n"
    a, b = _stage(first, work / names[0] / path), _stage(second, work / names[1] / path)
    rel_a, rel_b = f"{names[0]}/{path}", f"{names[1]}/{path}"
    program = diffoscope()
    if program is not None:
        report = _diffoscope(program, rel_a, rel_b, work)
        if report is not None:
            return report
    data_a, data_b = a.read_bytes(), b.read_bytes()
    text_a, text_b = _text(data_a), _text(data_b)
    if text_a is not None and text_b is not None:
        return _unified(text_a, text_b, rel_a, rel_b)
    offset = next((i for i, (x, y) in enumerate(zip(data_a, data_b, strict=False)) if x != y), None)
    where = f"first difference at byte {offset:#x}" if offset is not None else "one is a prefix of the other"
    hint = "" if program else "; install diffoscope for a readable report"
    return f"{path}: binary files differ ({len(data_a)} and {len(data_b)} bytes, {where}){hint}\n"


def _stage(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return target


def _diffoscope(program: str, a: str, b: str, work: Path) -> str | None:
    """diffoscope's text report; None when it cannot run (the caller falls back to its own)."""
    argv = [program, "--no-progress", "--text", "-", "--max-text-report-size", str(MAX_REPORT_BYTES), a, b]
    try:
        done = subprocess.run(
            argv, cwd=work, capture_output=True, text=True, errors="replace", timeout=TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode not in (0, 1) or not done.stdout:
        return None  # 0: no difference after all (metadata only); 2: diffoscope failed
    return done.stdout if done.stdout.endswith("\n") else done.stdout + "\n"


def _text(data: bytes) -> list[str] | None:
    if b"\0" in data[:_SNIFF]:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _unified(a: list[str], b: list[str], name_a: str, name_b: str) -> str:
    lines = [line if line.endswith("\n") else line + "\n" for line in difflib.unified_diff(a, b, name_a, name_b)]
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"... {len(lines) - MAX_LINES} more lines\n"]
    return "".join(lines)
