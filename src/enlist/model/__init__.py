"""Frozen dataclasses shared across layers (L0: stdlib only)."""
