"""Platforms: which one this machine is, and which wheel of a release serves each one (L2).

A wheel file name is `{dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl` (PEP 427), each tag part
possibly a `.`-separated set. Tool wheels (zig, re2c) carry a `py3`/`py2.py3` python tag, the `none` ABI and a
platform tag; they are unpacked, never imported, so wheels tied to one CPython ABI are not candidates.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from enlist.errors import EnvironmentFault
from enlist.model.packages import ANY_PLATFORM, PLATFORMS

_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def host_platform(env: Mapping[str, str] | None = None) -> str:
    """This machine's platform name (`ENLIST_PLATFORM` overrides it)."""
    env = os.environ if env is None else env
    if env.get("ENLIST_PLATFORM"):
        return env["ENLIST_PLATFORM"]
    machine = _machine().lower()
    machine = _MACHINES.get(machine, machine)
    system = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    name = f"{system}-{'arm64' if system in ('macos', 'windows') and machine == 'aarch64' else machine}"
    if name not in PLATFORMS:
        raise EnvironmentFault(
            f"this machine's platform '{name}' is not one enlist knows",
            hint=f"known platforms: {', '.join(PLATFORMS)}; set ENLIST_PLATFORM to use another",
        )
    return name


def _machine() -> str:
    if hasattr(os, "uname"):
        return os.uname().machine
    import platform  # Windows: slower to import, and only needed there

    return platform.machine()


@dataclass(frozen=True, slots=True)
class WheelName:
    file_name: str
    project: str  # normalised
    version: str
    pythons: tuple[str, ...]
    abis: tuple[str, ...]
    platforms: tuple[str, ...]


def parse_wheel_name(file_name: str) -> WheelName | None:
    if not file_name.endswith(".whl"):
        return None
    parts = file_name[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        return None
    return WheelName(
        file_name=file_name,
        project=re.sub(r"[-_.]+", "-", parts[0]).lower(),
        version=parts[1],
        pythons=tuple(parts[-3].split(".")),
        abis=tuple(parts[-2].split(".")),
        platforms=tuple(parts[-1].split(".")),
    )


def rank(wheel: WheelName, platform: str) -> tuple[int, ...] | None:
    """How well `wheel` serves `platform` (lower is better), or None if it does not."""
    if "none" not in wheel.abis or not any(p.startswith("py") for p in wheel.pythons):
        return None
    best: tuple[int, ...] | None = None
    for tag in wheel.platforms:
        score = _tag_rank(tag, platform)
        if score is not None and (best is None or score < best):
            best = score
    return best


def _tag_rank(tag: str, platform: str) -> tuple[int, ...] | None:
    if tag == "any":
        return (9,)
    system, _, cpu = platform.partition("-")
    if system == "linux":
        arch = cpu
        m = re.fullmatch(r"manylinux_(\d+)_(\d+)_" + arch, tag)
        if m:  # the oldest glibc baseline runs on the most machines
            return (0, int(m.group(1)), int(m.group(2)))
        legacy = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
        m = re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014)_" + arch, tag)
        if m:
            return (0, *legacy[m.group(1)])
        m = re.fullmatch(r"musllinux_(\d+)_(\d+)_" + arch, tag)
        if m:
            return (1, int(m.group(1)), int(m.group(2)))
        return (2,) if tag == f"linux_{arch}" else None
    if system == "macos":
        m = re.fullmatch(r"macosx_(\d+)_(\d+)_(\w+)", tag)
        if m and m.group(3) in (cpu, "universal2"):
            return (0 if m.group(3) == cpu else 1, int(m.group(1)), int(m.group(2)))
        return None
    if system == "windows":
        return (0,) if tag == {"x86_64": "win_amd64", "arm64": "win_arm64"}.get(cpu) else None
    return None


def best_wheel(wheels: Iterable[WheelName], platform: str) -> WheelName | None:
    """The wheel that serves `platform` best; ties go to the smallest file name, so the choice is stable."""
    ranked = [(score, w.file_name, w) for w in wheels if (score := rank(w, platform)) is not None]
    return min(ranked, key=lambda r: (r[0], r[1]))[2] if ranked else None


def serves_all(wheel: WheelName) -> bool:
    return wheel.platforms == (ANY_PLATFORM,)
