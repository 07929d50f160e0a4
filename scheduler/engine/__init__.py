"""Live plans: versions, event ingestion, repairs."""

from scheduler.engine.live import LivePlan, RepairResult, repair_config

__all__ = ["LivePlan", "RepairResult", "repair_config"]
