"""The package index URL, read from pip's configuration in this one place (L2).

In order: `PIP_INDEX_URL`; `pip config get global.index-url` (pip's configuration files, honouring
`PIP_CONFIG_FILE`); pip's own default. The URL is used, never written down: locks store paths relative to it.
"""

from __future__ import annotations

import os
import subprocess
import sys

from enlist.errors import EnvironmentFault


def index_url() -> str:
    url = os.environ.get("PIP_INDEX_URL", "").strip()
    if not url:
        url = _configured()
    if not url:
        url = _pip_default()
    return url.rstrip("/") + "/"


def _configured() -> str:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _pip_default() -> str:
    try:
        from pip._internal.models.index import PyPI  # pip's default index; a private API, read only here

        return str(PyPI.simple_url)
    except (ImportError, AttributeError) as e:
        raise EnvironmentFault(
            "no package index: pip's configuration names none and pip's default is unreadable",
            hint="set PIP_INDEX_URL (or `pip config set global.index-url URL`)",
        ) from e
