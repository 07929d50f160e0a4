"""The takt monitor: does a station run at its planned pace?

Per station, the completions the shop floor reported, in order of their end, each as the
ratio of its actual work time (pauses in downtimes and maintenance left out) to its
planned one. A two-sided CUSUM on log(ratio / factor in force), with an allowance of the
policy's tolerance, accumulates sustained deviations and forgets single slow parts; its
decision interval is ``threshold`` robust standard deviations of the recent log-ratios
(median absolute deviation; a floor keeps a noise-free station from alarming on a tick of
rounding). When it crosses after at least ``min_samples`` completions, the new factor is
the median ratio of the completions that built it up: within the tolerance of 1 the
station is back to plan (the planned times are restored), else it runs at that factor. A
crossing whose median agrees with the factor in force is absorbed (statistics reset).

The monitor is a pure function of the completions: the engine runs it after each event,
and what it finds beyond what it found before becomes a derived event in the log.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    """One completed operation at a station."""

    op_id: str
    end: int
    ratio: float
    """Actual work time over planned work time."""
    planned: int = 0
    """The planned work time in ticks (0: unknown). Times are whole ticks, so a short
    operation's ratio moves in steps of 1/planned: noise the statistic must allow for."""


@dataclass(frozen=True)
class MonitorSettings:
    tolerance: float = 0.05
    min_samples: int = 4
    window: int = 50
    """Completions over which the noise is estimated."""
    threshold: float = 6.0
    """The CUSUM's decision interval, in robust standard deviations of the log-ratio."""
    sigma_floor: float = 0.03
    slack: float = 0.25
    """Added to the allowance (the tolerance), in robust standard deviations: noise alone
    should not accumulate. Tuned on benchmarks/monitor_bench.py (docs/benchmarks.md)."""


@dataclass(frozen=True)
class Detection:
    station: str
    time: int
    """The end of the completion that made it."""
    factor: float
    """The station's factor from then on (1.0: back to plan)."""
    samples: tuple[str, ...]
    """The completions whose median it is."""
    number: int
    """1, 2, ... per station: with the station, what names the derived event."""


@dataclass(frozen=True)
class StationState:
    station: str
    factor: float
    completions: int
    last_end: int | None
    cusum_up: float
    cusum_down: float
    sigma: float
    recent: tuple[float, ...] = field(default=())
    """The latest ratios, newest last."""


def watch(
    samples: Mapping[str, Sequence[Sample]], settings: MonitorSettings
) -> tuple[list[Detection], dict[str, StationState]]:
    """Every detection the completions make, in time order, and each station's state."""
    detections: list[Detection] = []
    states: dict[str, StationState] = {}
    for station, seen in sorted(samples.items()):
        found, state = _station(station, sorted(seen, key=lambda s: (s.end, s.op_id)), settings)
        detections += found
        states[station] = state
    return sorted(detections, key=lambda d: (d.time, d.station)), states


def _station(station: str, seen: list[Sample], settings: MonitorSettings) -> tuple[list[Detection], StationState]:
    allowance = math.log1p(settings.tolerance)
    planned = sorted(s.planned for s in seen if s.planned)
    # rounding to whole ticks: a uniform error of +-1/2 tick has a standard deviation of 0.29 tick
    floor = max(settings.sigma_floor, 0.289 / planned[len(planned) // 2]) if planned else settings.sigma_floor
    factor, up, down = 1.0, 0.0, 0.0
    run: list[Sample] = []  # the completions since the statistic last stood at zero
    logs: list[float] = []
    found: list[Detection] = []
    sigma = floor
    for sample in seen:
        x = math.log(max(sample.ratio, 1e-9) / factor)
        logs.append(x)
        sigma = _robust_sigma(logs[-settings.window :], floor)
        if up == 0.0 and down == 0.0:
            run = []
        run.append(sample)
        k = allowance + settings.slack * sigma
        up, down = max(0.0, up + x - k), max(0.0, down - x - k)
        if len(run) < settings.min_samples or max(up, down) <= settings.threshold * sigma:
            continue
        estimate = statistics.median(s.ratio for s in run[-settings.window :])
        new = 1.0 if abs(estimate - 1.0) <= settings.tolerance else round(estimate, 3)
        if abs(new / factor - 1.0) > settings.tolerance:
            found.append(Detection(station, sample.end, new, tuple(s.op_id for s in run), len(found) + 1))
            factor = new
            logs = []  # the noise is measured afresh against the new factor
        up = down = 0.0
    state = StationState(station, factor, len(seen), seen[-1].end if seen else None, round(up, 4), round(down, 4),
                         round(sigma, 4), tuple(s.ratio for s in seen[-settings.window :]))  # fmt: skip
    return found, state


def _robust_sigma(values: Sequence[float], floor: float) -> float:
    """The larger of 1.4826 x the median absolute deviation and 1.2533 x the mean absolute
    deviation from the median: whole-tick times tie many ratios at exactly 1, which makes
    the median deviation 0 on a noisy station. Until there are ``_PRIOR_SAMPLES`` values,
    at least the prior (a few values can agree by chance and make any deviation look large)."""
    if len(values) < 3:
        return max(floor, _PRIOR_SIGMA)
    centre = statistics.median(values)
    deviations = [abs(v - centre) for v in values]
    spread = max(1.4826 * statistics.median(deviations), 1.2533 * math.fsum(deviations) / len(deviations))
    return max(floor, spread if len(values) >= _PRIOR_SAMPLES else max(spread, _PRIOR_SIGMA))


_PRIOR_SIGMA = 0.1
"""Assumed noise (log-ratio) until enough completions tell: a CV of about 10%."""
_PRIOR_SAMPLES = 10


def naive(samples: Mapping[str, Sequence[Sample]], tolerance: float) -> list[Detection]:
    """The baseline: the last completion beyond the tolerance sets the factor."""
    out: list[Detection] = []
    for station, seen in sorted(samples.items()):
        factor, count = 1.0, 0
        for sample in sorted(seen, key=lambda s: (s.end, s.op_id)):
            new = 1.0 if abs(sample.ratio - 1.0) <= tolerance else sample.ratio
            if abs(new / factor - 1.0) > tolerance:
                count += 1
                out.append(Detection(station, sample.end, new, (sample.op_id,), count))
                factor = new
    return sorted(out, key=lambda d: (d.time, d.station))
