"""What happens to the line that the plan does not know: noise, slowdowns, breakdowns."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from scheduler.domain import InputError
from scheduler.domain.orders import Order


@dataclass(frozen=True)
class Slowdown:
    """From ``start`` on, ``station`` takes ``factor`` times its planned times."""

    station: str
    factor: float
    start: int


@dataclass(frozen=True)
class Disturbances:
    noise: float = 0.0
    """Coefficient of variation of the lognormal factor (mean 1) on every operation's time."""
    slowdowns: tuple[Slowdown, ...] = ()
    mtbf: float | None = None
    """Mean ticks between a machine's breakdowns (exponential); None: none."""
    mttr: float | None = None
    """Mean ticks to repair (exponential)."""
    rush_orders: float = 0.0
    """Rush orders per tick (Poisson)."""
    seed: int = 0

    def noise_factor(self, op: str) -> float:
        """The factor on ``op``'s time: drawn from the seed and the operation alone, so that
        every configuration run with this seed meets the same one (common random numbers)."""
        if self.noise <= 0:
            return 1.0
        sigma = math.sqrt(math.log1p(self.noise**2))
        return math.exp(random.Random(f"{self.seed}/{op}").gauss(-sigma * sigma / 2, sigma))

    def slowdown(self, station: str, time: int) -> float:
        factor = 1.0
        for s in self.slowdowns:
            if s.station == station and time >= s.start:
                factor = s.factor
        return factor


def rush_order(template: Order, prefix: str, now: int) -> Order:
    """A copy of ``template`` named ``PREFIX-ID`` (its operations too), released at ``now``
    and due after half the lead it was planned with (at least one tick)."""
    lead = (template.due - template.release) if template.due is not None else 2 * sum(
        op.duration or 0 for op in template.operations)  # fmt: skip
    renamed = {op.id: f"{prefix}-{op.id}" for op in template.operations}
    operations = [op.model_copy(update={"id": renamed[op.id], "after": [renamed[a] for a in op.after]})
                  for op in template.operations]  # fmt: skip
    return template.model_copy(update={"id": f"{prefix}-{template.id}", "release": now,
                                       "due": now + max(1, lead // 2), "operations": operations})  # fmt: skip


def parse_slowdown(text: str, stations: set[str]) -> Slowdown:
    """``STATION:FACTOR@TIME`` (``weld:1.3@120``)."""
    try:
        station, rest = text.split(":", 1)
        factor, start = rest.split("@", 1)
        slowdown = Slowdown(station, float(factor), int(start))
    except ValueError:
        raise InputError.single("--slowdown", f"{text!r} is not STATION:FACTOR@TIME (e.g. weld:1.3@120)") from None
    if station not in stations:
        raise InputError.single("--slowdown", f"unknown station {station!r}")
    if not 0.01 <= slowdown.factor <= 100 or slowdown.start < 0:
        raise InputError.single("--slowdown", f"{text!r}: the factor must be in [0.01, 100] and the time >= 0")
    return slowdown


def parse_breakdowns(text: str) -> tuple[float, float]:
    """``MTBF:MTTR`` in ticks (``400:20``)."""
    try:
        mtbf, mttr = (float(part) for part in text.split(":", 1))
    except ValueError:
        raise InputError.single("--breakdowns", f"{text!r} is not MTBF:MTTR (e.g. 400:20)") from None
    if not (0 < mtbf < 1e9 and 0 < mttr < 1e9):
        raise InputError.single("--breakdowns", f"{text!r}: both must be positive ticks")
    return mtbf, mttr
