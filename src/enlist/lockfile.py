"""`buildconf/packages.lock`: the exact file and sha256 of every package on every platform (L1: pure, no I/O).

Written by `enlist lock`, committed, read by `enlist restore` (which never resolves anything). The format is
TOML that any TOML reader accepts, written in one canonical form so that diffs and merges stay small: a
header, then one `[[pin]]` block per (package, version, platform), sorted, keys in a fixed order, a blank line
between blocks.

    # packages.lock: exact files of buildconf/packages.toml, written by `enlist lock`.
    # Commit it; do not edit it.
    lock-version = 1

    [[pin]]
    package = "re2c"
    version = "4.0"
    platform = "linux-x86_64"
    feed = "pypi"
    url = "re2c/re2c-4.0-py2.py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.whl"
    sha256 = "2d6e28239c19789198900a1b52a654a29fb4170c0c0d631ef5299b3dd45a9434"

- `platform` is one of `enlist.model.packages.PLATFORMS`, or `any` for a file that serves every platform.
- `url` is relative to the feed named by `feed`, never absolute and never holding a host or credentials: the
  path under a folder or HTTP feed, or `<project>/<file name>` on a PyPI-style index (restore finds the file
  on the project's page and checks that the index still gives the same sha256).
- `sha256` is the digest of the file's bytes; restore refuses any other bytes.

A lock is *stale* (`stale_reasons`) when it does not pin exactly what packages.toml asks for: a package
version or platform without a pin, a pin for something no longer asked for, or a folder/HTTP file path that
changed.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable

from enlist.digest import is_hex_digest
from enlist.errors import ConfigError, Location
from enlist.model.packages import ANY_PLATFORM, PLATFORMS, Lock, PackagesConfig, Pin
from enlist.packagesfile import expand_file, platform_specific

LOCK_VERSION = 1
HEADER = (
    "# packages.lock: exact files of buildconf/packages.toml, written by `enlist lock`.\n"
    "# Commit it; do not edit it.\n"
)
_FIELDS = ("package", "version", "platform", "feed", "url", "sha256")
_HINT = "run `enlist lock` to write it again"


def serialize(lock: Lock) -> str:
    out = [HEADER, f"lock-version = {LOCK_VERSION}\n"]
    for pin in sorted(set(lock.pins)):
        out.append("\n[[pin]]\n")
        out += [f"{name} = {json.dumps(getattr(pin, name))}\n" for name in _FIELDS]
    return "".join(out)


def parse(text: str, shown_as: str) -> Lock:
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(("<<<<<<<", ">>>>>>>")):
            raise ConfigError(
                "unresolved merge conflict",
                location=Location(shown_as, number),
                hint="take either side and then run `enlist lock`, which rewrites the lock",
            )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        match = re.search(r"\(at line (\d+), column \d+\)", str(e))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e)) or "invalid TOML"
        raise ConfigError(
            message, location=Location(shown_as, int(match.group(1)) if match else 0), hint=_HINT
        ) from e
    if data.get("lock-version") != LOCK_VERSION:
        raise ConfigError(
            f"unsupported lock-version {data.get('lock-version')!r} (this enlist reads {LOCK_VERSION})",
            location=Location(shown_as, _line_of(text, "lock-version")),
            hint=_HINT,
        )
    for unknown in sorted(set(data) - {"lock-version", "pin"}):
        raise ConfigError(
            f"unknown key '{unknown}'", location=Location(shown_as, _line_of(text, unknown)), hint=_HINT
        )
    raw_pins = data.get("pin", [])
    if not isinstance(raw_pins, list):
        raise ConfigError("`pin` must be an array of tables", location=Location(shown_as), hint=_HINT)
    pins: list[Pin] = []
    seen: set[tuple[str, str, str]] = set()
    for index, raw in enumerate(raw_pins):
        pin = _pin(raw)
        if isinstance(pin, Pin) and (pin.package, pin.version, pin.platform) in seen:
            pin = f"{pin.package} {pin.version} is pinned twice for {pin.platform}"
        if isinstance(pin, str):  # the line is looked for only when there is an error to show
            raise ConfigError(pin, location=Location(shown_as, _nth_pin_line(text, index)), hint=_HINT)
        seen.add((pin.package, pin.version, pin.platform))
        pins.append(pin)
    return Lock(pins=tuple(sorted(pins)))


def _pin(raw: object) -> Pin | str:
    """The pin of one [[pin]] table, or what is wrong with it."""
    if not isinstance(raw, dict):
        return "a [[pin]] must be a table"
    unknown = sorted(set(raw) - set(_FIELDS))
    missing = [f for f in _FIELDS if not isinstance(raw.get(f), str) or not raw[f]]
    if unknown or missing:
        return f"unknown key '{unknown[0]}'" if unknown else f"pin without `{missing[0]}`"
    pin = Pin(**{f: raw[f] for f in _FIELDS})
    if not is_hex_digest(pin.sha256):
        return f"{pin.package}: sha256 must be 64 lowercase hex digits"
    if pin.platform not in PLATFORMS and pin.platform != ANY_PLATFORM:
        return f"{pin.package}: unknown platform '{pin.platform}'"
    parts = pin.url.split("/")
    if "://" in pin.url or pin.url.startswith("/") or ".." in parts or "" in parts or "\\" in pin.url:
        return f"{pin.package}: url must be a relative path under its feed"
    return pin


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^\s*" + re.escape(key) + r"\s*=", line):
            return number
    return 0


def _nth_pin_line(text: str, index: int) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), 1) if re.match(r"^\s*\[\[\s*pin\s*\]\]", line)]
    return hits[index] if index < len(hits) else 0


def wanted(config: PackagesConfig) -> list[tuple[str, str, str, str | None]]:
    """(package, version, platform, expected url or None) for every pin packages.toml asks for."""
    out: list[tuple[str, str, str, str | None]] = []
    for spec in config.packages:
        if spec.file is not None and not platform_specific(spec):
            out.append((spec.name, spec.version, ANY_PLATFORM, expand_file(spec.file, spec, ANY_PLATFORM)))
            continue
        for platform in config.platforms_of(spec):
            url = expand_file(spec.file, spec, platform) if spec.file is not None else None
            out.append((spec.name, spec.version, platform, url))
    return sorted(out, key=lambda w: (w[0], w[1], w[2]))


def stale_reasons(config: PackagesConfig, lock: Lock) -> list[str]:
    """Why the lock does not pin exactly what packages.toml asks for; empty when it is fresh."""
    reasons: list[str] = []
    used: set[Pin] = set()
    feeds = {spec.key: spec.feed for spec in config.packages}
    for name, version, platform, url in wanted(config):
        pin = lock.pin_for(name, version, platform)
        label = f"{name} {version} ({platform})"
        if pin is None:
            reasons.append(f"{label}: not in the lock")
            continue
        used.add(pin)
        if pin.feed != feeds[(name, version)]:
            reasons.append(
                f"{label}: pinned from feed '{pin.feed}', packages.toml says '{feeds[(name, version)]}'"
            )
        elif url is not None and pin.url != url:
            reasons.append(f"{label}: pinned file {pin.url}, packages.toml says {url}")
    reasons += [
        f"{p.package} {p.version} ({p.platform}): no longer in packages.toml"
        for p in _unused(lock.pins, used)
    ]
    return reasons


def _unused(pins: Iterable[Pin], used: set[Pin]) -> list[Pin]:
    return sorted(p for p in pins if p not in used)
