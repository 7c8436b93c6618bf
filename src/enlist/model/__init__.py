"""Immutable data shared across layers (L0: stdlib only): frozen dataclasses, and `typing.NamedTuple` for the
actions and plans a build with work to do loads (see docs/style.md, item 6)."""
