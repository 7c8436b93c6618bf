"""`compile_commands.json` at the enlistment root (L2), for clangd, VS Code and every other editor.

The JSON compilation database format (one object per compiled source, sorted by file, then output):

    [
      {
        "arguments": ["/home/me/.cache/enlist/.../ziglang/zig", "cc", "-target", "x86_64-linux-musl", ...,
                      "-I/home/me/src/enl/projects/replica/inc", "-MD", "-MF",
                      "projects/replica/lib/obj/chk-amd64/log.c.d", "-c", "projects/replica/lib/log.c",
                      "-o", "projects/replica/lib/obj/chk-amd64/log.c.o"],
        "directory": "/home/me/src/enl",
        "file": "/home/me/src/enl/projects/replica/lib/log.c",
        "output": "/home/me/src/enl/projects/replica/lib/obj/chk-amd64/log.c.o"
      }
    ]

The commands are the real ones the build runs: include directories and tools are absolute (toolcache trees
included), and files of the enlistment are relative to `directory`, where the build runs them (an absolute
source path would end up inside the object). Navigation works without IDE project files. Unlike every other
output, this file is about this machine: it is git-ignored, and it is rewritten only when its content changes,
so editors do not re-index after a no-op build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from enlist.fsio import write_if_changed
from enlist.model.action import ActionKind
from enlist.rules.spec import Plan

FILE_NAME = "compile_commands.json"


def entries(plan: Plan) -> list[dict[str, Any]]:
    root = plan.roots.enlistment

    def absolute(path: str) -> str:
        if path.startswith("/"):
            return path
        return root if path == "." else f"{root}/{path}"

    found = [
        {
            "arguments": list(action.argv),
            "directory": absolute(action.cwd),
            "file": absolute(action.inputs[0]),
            "output": absolute(action.outputs[0]),
        }
        for action in plan.actions
        if action.kind is ActionKind.COMPILE
    ]
    return sorted(found, key=lambda e: (e["file"], e["output"]))


def write_compile_commands(plan: Plan) -> Path:
    """Refresh `<enlistment>/compile_commands.json` from the plan; returns its path."""
    path = Path(plan.roots.enlistment) / FILE_NAME
    text = json.dumps(entries(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_if_changed(path, text.encode("utf-8"))
    return path
