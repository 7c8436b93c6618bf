"""The composition root (L3): wires the adapters into the engine for each command that needs more than one
layer."""
