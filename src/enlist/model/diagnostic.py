"""Diagnostics: warnings and messages that do not stop a load or a build (L0).

They are data, not log lines: the loader collects them, the build writes them to `out/<config>/build.wrn`, and
`--strict` turns warnings into errors. Rendered like errors, one per line:

    projects/agent/sources:7: warning: undefined macro 'PkgRe2c' expands to nothing
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from enlist.errors import Location


class Severity(enum.Enum):
    MESSAGE = "message"  # !MESSAGE in a descriptor
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    location: Location
    severity: Severity
    message: str

    @property
    def sort_key(self) -> tuple[Location, str, str]:
        return (self.location, self.severity.value, self.message)

    def render(self) -> str:
        return f"{self.location}: {self.severity.value}: {self.message}"
