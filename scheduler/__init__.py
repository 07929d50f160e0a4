"""lean-scheduler: constraint-based dynamic scheduling for lean production lines."""

__version__ = "0.1.0"
