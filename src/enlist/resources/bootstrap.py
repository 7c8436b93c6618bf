#!/usr/bin/env python3
"""Set up this enlistment and hand over to enlist (stdlib only; keep it small).

    python3 bootstrap.py                 set up, restore the pinned tools, open the enlistment prompt
    python3 bootstrap.py build [ARGS]    set up, restore, build (the lab/CI path, no prompt)
    python3 bootstrap.py test [ARGS]     set up with the test extras, run the test suite (pytest ARGS)
    python3 bootstrap.py CMD [ARGS]      set up, run `enlist CMD ARGS`

Setting up means: a virtual environment in `.venv/` holding enlist and its Python dependencies, installed with
`pip --require-hashes` from `buildconf/requirements.lock` (`requirements-test.lock` for `test`). Where enlist comes
from is named in `buildconf/enlist.toml`:

    [orchestrator]
    path = "."                                # an enlist checkout (installed editable), relative to this file
    # or
    wheel = "https://feed.example/enlist-0.1.0-py3-none-any.whl"   # or a path relative to this file
    sha256 = "<hex digest of that wheel>"

A stamp in `.venv/` records what was installed; when nothing changed, the next run hands over at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import venv
from pathlib import Path
from typing import NoReturn

MIN_PYTHON = (3, 11)
ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / "enlist-bootstrap.json"
LOCK = ROOT / "buildconf" / "requirements.lock"
TEST_LOCK = ROOT / "buildconf" / "requirements-test.lock"


def fail(message: str, hint: str = "", code: int = 3) -> NoReturn:
    """Exit with a clear message: code 2 for bad input (the enlistment's files), 3 for the environment."""
    print(f"bootstrap: error: {message}", file=sys.stderr)
    if hint:
        print(f"  hint: {hint}", file=sys.stderr)
    sys.exit(code)


def read_orchestrator() -> dict[str, str]:
    import tomllib

    conf = ROOT / "buildconf" / "enlist.toml"
    try:
        with conf.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        fail(f"{conf}: not found", "run bootstrap.py from an enlistment created by `enlist new`", 2)
    except tomllib.TOMLDecodeError as e:
        at = re.search(r" \(at line (\d+), column \d+\)", str(e))
        where = f"buildconf/enlist.toml:{at.group(1)}" if at else "buildconf/enlist.toml"
        fail(f"{where}: {str(e).replace(at.group(0), '') if at else e}", "fix the TOML syntax", 2)
    orch = data.get("orchestrator", {"path": "."})
    if not isinstance(orch, dict) or ("path" in orch) == ("wheel" in orch):
        fail(f"{conf}: [orchestrator] needs exactly one of `path` or `wheel`", code=2)
    if "wheel" in orch and not orch.get("sha256"):
        fail(f"{conf}: [orchestrator] wheel needs its `sha256`", code=2)
    return {k: str(v) for k, v in orch.items()}


def wanted_state(orch: dict[str, str], test: bool) -> dict[str, str]:
    """What the environment must hold; any change to it means a new install."""
    state = {"python": sys.version, "lock": digest(LOCK)}
    if test:
        state["test-lock"] = digest(TEST_LOCK)
    state.update(orch)
    if "path" in orch:
        pyproject = (ROOT / orch["path"] / "pyproject.toml").resolve()
        if not pyproject.is_file():
            fail(f"[orchestrator] path: no enlist checkout at {pyproject.parent}", code=2)
        state["pyproject"] = digest(pyproject)
    return state


def digest(path: Path) -> str:
    if not path.is_file():
        fail(f"{path}: not found", "an enlistment commits its hash-pinned Python requirements in buildconf/", 2)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pip(python: Path, *args: str) -> None:
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args]
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        fail("pip install failed (see above)", "check the network or your pip index configuration")


def install(orch: dict[str, str], lock: Path, python: Path) -> None:
    print(f"bootstrap: setting up {VENV.name}/ from {lock.relative_to(ROOT)}", file=sys.stderr)
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    STAMP.unlink(missing_ok=True)
    pip(python, "--require-hashes", "--no-deps", "-r", str(lock))
    if "path" in orch:
        pip(python, "--no-deps", "--no-build-isolation", "-e", str((ROOT / orch["path"]).resolve()))
    else:
        wheel = orch["wheel"]
        if "://" not in wheel:
            wheel = (ROOT / wheel).resolve().as_uri()
        req = VENV / "orchestrator.txt"
        name = Path(wheel.split("#")[0]).name.split("-")[0]
        req.write_text(f"{name} @ {wheel} --hash=sha256:{orch['sha256']}\n")
        pip(python, "--require-hashes", "--no-deps", "-r", str(req))


def set_up(test: bool) -> Path:
    if sys.version_info < MIN_PYTHON:
        fail(f"Python {'.'.join(map(str, MIN_PYTHON))} or newer is needed, this is {sys.version.split()[0]}")
    orch = read_orchestrator()
    python = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    want = wanted_state(orch, test)
    VENV.mkdir(exist_ok=True)
    with open(VENV / ".bootstrap.lock", "w") as lockfile:
        if os.name != "nt":
            import fcntl

            fcntl.flock(lockfile, fcntl.LOCK_EX)  # a second bootstrap waits, then finds the stamp
        try:
            have = json.loads(STAMP.read_text())
        except (OSError, ValueError):
            have = {}
        if not test:
            have.pop("test-lock", None)  # the test environment is a superset: it serves plain runs too
        if have != want or not python.exists():
            install(orch, TEST_LOCK if test else LOCK, python)
            STAMP.write_text(json.dumps(want, sort_keys=True))
    return python


def main(argv: list[str]) -> None:
    test = bool(argv) and argv[0] == "test"
    python = set_up(test)
    os.environ["ENLIST_ROOT"] = str(ROOT)
    if test:
        args = [str(python), "-m", "pytest", *argv[1:]]
    else:
        args = [str(python), "-m", "enlist", *(argv or ["shell"])]
    sys.stdout.flush()
    if os.name == "nt":
        sys.exit(subprocess.run(args).returncode)
    os.chdir(ROOT)
    os.execv(args[0], args)


if __name__ == "__main__":
    main(sys.argv[1:])
