"""The policy: what the optimiser weighs and how the solver runs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from scheduler.domain.base import DomainModel

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
    time_limit_s: Annotated[float, Field(gt=0, le=86_400)] = 10.0
    deterministic: bool = False
    log: bool = False


class Policy(DomainModel):
    objective: ObjectiveWeights = ObjectiveWeights()
    solver: SolverSettings = SolverSettings()
