"""lean-scheduler: constraint-based dynamic scheduling for lean production lines."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lean-scheduler")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
