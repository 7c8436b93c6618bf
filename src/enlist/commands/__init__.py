"""Subcommands of `enlist` (L3). One module per command: `configure(parser)` and `run(args) -> int`."""
