"""The source revision a build is made from (L0): read by `enlist.vcs`, stamped, recorded in the manifest."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Revision:
    commit: str  # full hex commit id; "" when the enlistment is not a git checkout
    dirty: bool  # tracked files differ from the commit (untracked files do not count); True when unknown
    time: int  # committer time of the commit, seconds since the epoch: SOURCE_DATE_EPOCH; 0 when unknown

    @property
    def label(self) -> str:
        """What a stamp says: the commit, marked when the tree differs from it."""
        if not self.commit:
            return "unknown"
        return f"{self.commit}-dirty" if self.dirty else self.commit
