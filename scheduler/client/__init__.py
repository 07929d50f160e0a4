"""A thin, typed gRPC client for lean-scheduler. It imports grpc and the generated
messages only (never the solver or the engine), so it is light enough for an MES adapter.

The request and response messages are re-exported here: ``from scheduler.client import
SchedulerClient, Event, DowntimeStarted``.
"""

from scheduler.client.client import OWNER_METADATA, SchedulerClient, owner_of, scenario_document
from scheduler.client.connection import RETRIED, Connection, RetryPolicy
from scheduler.rpc.v1.scheduler_pb2 import (
    DOCUMENT_FORMAT_JSON,
    DOCUMENT_FORMAT_YAML,
    REPAIR_TIER_CP_SAT,
    REPAIR_TIER_GAP_REPAIR,
    REPAIR_TIER_NONE,
    REPAIR_TIER_RIGHT_SHIFT,
    CycleTimeObserved,
    DowntimeEnded,
    DowntimeStarted,
    DowntimeUpdated,
    EvaluateScenarioResponse,
    Event,
    EventAck,
    KanbanCap,
    Kpis,
    OperationCompleted,
    OperationStarted,
    OrderAdded,
    OrderCancelled,
    PlanSummary,
    PlanVersion,
    Receipt,
    ReportEventsResponse,
    ScenarioDocument,
    Schedule,
    StabilityDiff,
)

__all__ = [
    "DOCUMENT_FORMAT_JSON",
    "DOCUMENT_FORMAT_YAML",
    "OWNER_METADATA",
    "REPAIR_TIER_CP_SAT",
    "REPAIR_TIER_GAP_REPAIR",
    "REPAIR_TIER_NONE",
    "REPAIR_TIER_RIGHT_SHIFT",
    "RETRIED",
    "Connection",
    "CycleTimeObserved",
    "DowntimeEnded",
    "DowntimeStarted",
    "DowntimeUpdated",
    "EvaluateScenarioResponse",
    "Event",
    "EventAck",
    "KanbanCap",
    "Kpis",
    "OperationCompleted",
    "OperationStarted",
    "OrderAdded",
    "OrderCancelled",
    "PlanSummary",
    "PlanVersion",
    "Receipt",
    "ReportEventsResponse",
    "RetryPolicy",
    "ScenarioDocument",
    "Schedule",
    "SchedulerClient",
    "StabilityDiff",
    "owner_of",
    "scenario_document",
]
