"""What official builds ship (L2): versioned packages of published files, and feeds to push them to.

- `enlist.release.archive`: deterministic tar.gz archives (sorted members, fixed owners, modes and times).
- `enlist.release.package`: a build's packages and their metadata: the drop in `out/<config>/packages/`.
- `enlist.release.folder`: publishing a drop to a folder feed (files first, the index last).
- `enlist.release.upload`: publishing a drop to an HTTP feed through the PyPI upload API.
"""
