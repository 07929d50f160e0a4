"""The policy: what the optimiser weighs and how the solver runs."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from scheduler.domain.base import DomainModel
from scheduler.domain.bounds import MAX_DURATION

Weight = Annotated[int, Field(ge=0, le=1_000_000)]


class ObjectiveWeights(DomainModel):
    """Integer weights of the objective terms (0 switches a term off).

    - ``makespan``: end of the last operation.
    - ``weighted_tardiness``: sum over orders of weight x max(0, completion - due).
    - ``earliness``: sum over orders of max(0, due - completion); finishing early is overproduction.
    - ``bottleneck_idle``: machine time inside the bottleneck's working span not spent processing.
    """

    makespan: Weight = 1
    weighted_tardiness: Weight = 1
    earliness: Weight = 0
    bottleneck_idle: Weight = 0


class SolverSettings(DomainModel):
    """CP-SAT settings. ``deterministic`` uses CP-SAT's deterministic time (reproducible
    runs for tests and benchmarks) instead of wall-clock seconds."""

    workers: Annotated[int, Field(ge=1, le=64)] = 2
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    time_limit_s: Annotated[float, Field(gt=0, le=86_400, allow_inf_nan=False)] = 10.0
    deterministic: bool = False
    log: bool = False


class StabilityWeights(DomainModel):
    """How a repair weighs change against the plan it repairs (integer weights).

    The repair objective is ``efficiency_scale x (efficiency terms) + moved_operations x
    (operations whose start or machine changed) + total_abs_shift x (sum of |start shift|) +
    machine_reassignments x (operations on another machine)``.
    """

    moved_operations: Weight = 0
    total_abs_shift: Weight = 0
    machine_reassignments: Weight = 0
    efficiency_scale: Annotated[int, Field(ge=1, le=1_000_000)] = 1


_PRESET_FIELDS = ("stability", "neighbourhood", "mode")
"""What a repair preset sets."""


class RepairPolicy(DomainModel):
    """How the engine repairs a plan when an event arrives."""

    budget_ms: Annotated[int, Field(ge=10, le=600_000)] = 500
    margin_ms: Annotated[int, Field(ge=0, le=10_000)] = 25
    """Kept back from the budget for building, checking and answering."""
    stability: StabilityWeights = StabilityWeights()
    takt_tolerance: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = 0.05
    """A cycle-time deviation within this fraction of the planned one changes nothing."""
    default_downtime: Annotated[int, Field(ge=1, le=MAX_DURATION)] = 30
    """Ticks assumed for a downtime that gives no expected end or duration."""
    interrupted: Literal["resume", "restart"] = "resume"
    """An operation interrupted by a downtime resumes its remaining work, or restarts."""
    started: Literal["assumed", "reported"] = "assumed"
    """``assumed``: what the plan started before "now" is taken as having started, unless a
    report says otherwise (an MES that reports downtimes only). ``reported``: only reported
    starts count (an MES that reports every start); the rest is planned from now."""
    completion_without_start: Literal["infer", "refuse"] = "infer"
    """A completion for an operation never reported started: ``infer`` its start (its
    duration before the completion, after what ran before it; replaced when the start
    arrives) or ``refuse`` the event."""
    takt_monitor: bool = True
    """Watch reported completions and report a station's pace when it leaves the tolerance
    (derived ``cycle_time_observed`` events from source ``monitor``)."""
    frozen_horizon: Annotated[int, Field(ge=0, le=MAX_DURATION)] = 0
    """Operations planned to start within this many ticks of "now" do not move (unless the
    disruption makes their place impossible)."""
    mode: Literal["grow", "windows"] = "grow"
    """How CP-SAT's windows are chosen (docs/repair.md). ``grow``: the affected operations
    in the order of their starts, in windows sized to the budget, then everything still
    free, the windows doubling while time is left. ``windows``: first the operations tier 0
    moved, by their old starts, in windows of ``neighbourhood`` (rolling windows: few
    moves), then as ``grow`` with what is left."""
    neighbourhood: Annotated[int, Field(ge=1, le=1_000_000)] = 600
    """The most operations one CP-SAT window holds at first (fewer when the budget cannot
    take that many at the rate measured; exactly this many with ``deterministic``)."""
    workers: Annotated[int, Field(ge=1, le=64)] = 2
    deterministic: bool = False
    """Reproducible runs (tests): CP-SAT gets (budget_ms - margin_ms) / 1000 units of
    deterministic time and no watchdog, instead of the wall-clock budget."""

    def with_preset(self, name: str) -> RepairPolicy:
        """This policy with a named preset's weights, window mode and neighbourhood; the
        budget, tolerance and downtime settings stay."""
        preset = REPAIR_PRESETS[name]
        return self.model_copy(update={f: getattr(preset, f) for f in _PRESET_FIELDS})

    @property
    def preset(self) -> str:
        """The name of the preset this policy follows, or ``custom``."""
        mine = tuple(getattr(self, f) for f in _PRESET_FIELDS)
        found = (n for n, p in REPAIR_PRESETS.items() if tuple(getattr(p, f) for f in _PRESET_FIELDS) == mine)
        return next(found, "custom")


REPAIR_PRESETS: dict[str, RepairPolicy] = {
    # Efficiency only; stability tie-breakers cost too much inside the budget (decisions/0005).
    "efficiency": RepairPolicy(),
    # A move costs 100 ticks of efficiency; no |shift| weight; windows of 200 (decisions/0001, 0005).
    "stability": RepairPolicy(
        stability=StabilityWeights(
            moved_operations=100, total_abs_shift=0, machine_reassignments=100, efficiency_scale=1
        ),
        neighbourhood=200,
        mode="windows",
    ),
}


class Policy(DomainModel):
    objective: ObjectiveWeights = ObjectiveWeights()
    solver: SolverSettings = SolverSettings()
    repair: RepairPolicy = RepairPolicy()

    def with_repair_preset(self, name: str) -> Policy:
        """This policy with a named repair preset (``efficiency`` or ``stability``)."""
        return self.model_copy(update={"repair": self.repair.with_preset(name)})
