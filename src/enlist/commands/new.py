"""`enlist new DIR`: create a working enlistment, the way CoreXT projects adopted the corext bootstrapper.

The new enlistment gets:
- `bootstrap.py`, the stdlib-only set-up script, copied from the enlistment it is created from,
- `buildconf/enlist.toml` with its own `[enlistment]`, an `[orchestrator]` naming where its bootstrap installs enlist
  from (a path to an enlist checkout, or a wheel with its sha256), and the toolchain tables of the enlistment it was
  created from,
- that enlistment's `buildconf/packages.toml`, `packages.lock` and hash-pinned Python requirement locks (the same
  toolchain pins),
- a root `dirs`, one `projects/hello` program, and a `.gitignore`.

It is written in a temporary directory next to DIR and renamed into place: it appears whole or not at all.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import enlist
from enlist import workspace
from enlist.errors import InputError

COPIED = ("packages.toml", "packages.lock", "requirements.lock", "requirements-test.lock")
OWN_TABLES = ("enlistment", "orchestrator")
TABLE_RE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"]+)\s*\]\]?")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=Path, help="directory to create (must not exist, or be empty)")
    parser.add_argument("--name", help="name of the enlistment (default: the directory's name)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--orchestrator-path", type=Path, help="an enlist checkout to install enlist from")
    source.add_argument("--orchestrator-wheel", help="URL or path of an enlist wheel to install enlist from")
    parser.add_argument("--sha256", help="sha256 of --orchestrator-wheel (required with it)")


def running_checkout() -> Path | None:
    """The enlist checkout this enlist runs from, if it runs from one (an editable install)."""
    candidate = Path(enlist.__file__).resolve().parents[2]
    pyproject = candidate / "pyproject.toml"
    if pyproject.is_file() and 'name = "enlist"' in pyproject.read_text(encoding="utf-8"):
        return candidate
    return None


def orchestrator_table(args: argparse.Namespace, target: Path) -> str:
    if args.orchestrator_wheel:
        if not args.sha256 or not re.fullmatch(r"[0-9a-f]{64}", args.sha256):
            raise InputError("--orchestrator-wheel needs --sha256 with the wheel's hex sha256 digest")
        return f'[orchestrator]\nwheel = "{args.orchestrator_wheel}"\nsha256 = "{args.sha256}"\n'
    checkout = args.orchestrator_path or running_checkout()
    if checkout is None:
        raise InputError(
            "this enlist is not running from a checkout, so there is no path to install it from",
            hint="pass --orchestrator-path CHECKOUT or --orchestrator-wheel URL --sha256 HEX",
        )
    checkout = Path(checkout).resolve()
    if not (checkout / "pyproject.toml").is_file():
        raise InputError(f"--orchestrator-path {checkout}: not an enlist checkout (no pyproject.toml)")
    relative = Path(os.path.relpath(checkout, target)).as_posix()
    return f'[orchestrator]\npath = "{relative}"\n'


def other_tables(text: str) -> str:
    """The tables of an enlist.toml other than those a new enlistment writes itself, verbatim."""
    kept: list[str] = []
    keep = False
    for line in text.splitlines(keepends=True):
        match = TABLE_RE.match(line)
        if match:
            keep = match.group(1).split(".")[0].strip('"') not in OWN_TABLES
        if keep:
            kept.append(line)
    return "".join(kept).strip() + "\n" if kept else ""


def enlist_toml(name: str, orchestrator: str, template: str) -> str:
    head = (
        "# Settings of this enlistment (see the enlist documentation).\n\n"
        f'[enlistment]\nname = "{name}"\nversion = "1.0"\ndefault_config = "chk-amd64"\n\n'
    )
    rest = other_tables(template)
    return head + orchestrator + ("\n" + rest if rest else "")


def write_skeleton(staging: Path, name: str, orchestrator: str, source: workspace.Settings) -> None:
    skeleton = resources.files("enlist") / "resources"
    shutil.copyfile(source.root / "bootstrap.py", staging / "bootstrap.py")
    (staging / "bootstrap.py").chmod(0o755)
    shutil.copytree(str(skeleton / "skeleton"), staging, dirs_exist_ok=True)
    (staging / "gitignore").rename(staging / ".gitignore")
    conf = staging / "buildconf"
    conf.mkdir()
    template = (source.root / workspace.ENLIST_TOML).read_text(encoding="utf-8")
    (conf / "enlist.toml").write_text(enlist_toml(name, orchestrator, template), encoding="utf-8")
    for file in COPIED:
        if (source.root / "buildconf" / file).is_file():
            shutil.copyfile(source.root / "buildconf" / file, conf / file)


def run(args: argparse.Namespace) -> int:
    target = Path(args.dir).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{args.dir}: already exists and is not empty", hint="choose a new directory")
    source = workspace.load()
    name = args.name or target.name
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]*", name):
        raise InputError(f"bad enlistment name '{name}'", hint="letters, digits, '.', '_' and '-'")
    orchestrator = orchestrator_table(args, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        write_skeleton(staging, name, orchestrator, source)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"created enlistment '{name}' in {args.dir}")
    print(f"next: cd {args.dir} && python3 bootstrap.py")
    return 0
