"""enlist: a build-system orchestrator in the style of Razzle and CoreXT."""

__version__ = "0.1.0"
