"""What the plan book answers, and how it refuses: acknowledgements, reports, summaries,
what-ifs, and the errors a caller can act on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.domain import InputError
from scheduler.domain.events import Event
from scheduler.engine.history import Version
from scheduler.repair import Change, Receipt


class PlanNotFound(LookupError):
    def __init__(self, plan_id: str, version: int | None = None) -> None:
        self.plan_id, self.version = plan_id, version
        super().__init__(f"no plan {plan_id!r}" + (f" version {version}" if version else ""))


class PlanDamaged(LookupError):
    """A stored plan that could not be loaded; only deleting it is possible."""

    def __init__(self, plan_id: str, reason: str) -> None:
        self.plan_id, self.reason = plan_id, reason
        super().__init__(f"plan {plan_id!r} could not be loaded from the store ({reason}); delete it or restore it")


class PlanElsewhere(LookupError):
    """The plan is served by another replica (its lease is theirs): call it there."""

    def __init__(self, plan_id: str, owner: str, addr: str) -> None:
        self.plan_id, self.owner, self.addr = plan_id, owner, addr
        super().__init__(f"plan {plan_id!r} is served by replica {owner!r} at {addr}; call it there")


class Late(Exception):
    """The call's deadline passed before the work could start."""


class StaleVersion(Exception):
    def __init__(self, expected: int, actual: int) -> None:
        self.expected, self.actual = expected, actual
        super().__init__(f"expected version {expected}, the plan is at version {actual}")


class EventRejected(Exception):
    """Event ``index`` of a batch was invalid; the ones before it were taken (``acks``)."""

    def __init__(self, index: int, error: InputError, acks: list[Ack]) -> None:
        self.index, self.error, self.acks = index, error, acks
        super().__init__(f"events[{index}]: {error.summary()}")


@dataclass(frozen=True)
class Ack:
    event_id: str
    source: str
    version: int
    receipt: Receipt
    duplicate: bool = False
    event: Event | None = None
    """For an event the engine derived: the event itself."""


@dataclass(frozen=True)
class Report:
    """What a batch of events did: an acknowledgement per event applied (or resent), the
    plan after them, and how many at the end were not applied (the deadline came, or the
    call was cancelled): those can be sent again."""

    acks: list[Ack]
    latest: Version
    not_applied: int = 0
    derived: list[Ack] = field(default_factory=list)
    """Events the engine derived from these (the takt monitor's), in the order taken."""


@dataclass(frozen=True)
class Summary:
    plan_id: str
    name: str
    created: float
    latest: Version | None
    """None for a damaged plan."""
    damaged: str = ""


@dataclass(frozen=True)
class WhatIf:
    base: Version
    plan: Version
    receipts: list[Receipt]
    diff: Change
    makespan_delta: int
    weighted_tardiness_delta: int


Listener = Callable[[Version | None], None]
"""Called with each new version; with None once the plan is deleted (the end of the stream)."""
