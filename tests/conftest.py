"""Shared test fixtures: each area's fixtures live in their own module, registered here."""

pytest_plugins = ["toolcache_support"]
