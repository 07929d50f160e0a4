"""Live plans: versions, event ingestion, repairs; the durable book of a server's plans."""

from scheduler.engine.answers import (
    Ack,
    EventRejected,
    Late,
    PlanDamaged,
    PlanElsewhere,
    PlanNotFound,
    Report,
    StaleVersion,
    Summary,
    WhatIf,
)
from scheduler.engine.book import PlanBook
from scheduler.engine.history import Version
from scheduler.engine.live import LivePlan
from scheduler.engine.result import RepairResult

__all__ = [
    "Ack",
    "EventRejected",
    "Late",
    "LivePlan",
    "PlanBook",
    "PlanDamaged",
    "PlanElsewhere",
    "PlanNotFound",
    "RepairResult",
    "Report",
    "StaleVersion",
    "Summary",
    "Version",
    "WhatIf",
]
