"""graph package of enlist (see DESIGN.md §6 for its layer)."""
