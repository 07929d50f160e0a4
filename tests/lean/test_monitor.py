"""The takt monitor on synthetic completion streams (seeded): quiet on noise, a step
detected, the return restored, one slow part ignored."""

from __future__ import annotations

import math
import random

from scheduler.lean.monitor import MonitorSettings, Sample, naive, watch

SETTINGS = MonitorSettings(tolerance=0.05)


def _stream(ratios: list[float]) -> dict[str, list[Sample]]:
    return {"weld": [Sample(f"o{k}", 10 * (k + 1), r) for k, r in enumerate(ratios)]}


def _noisy(rng: random.Random, count: int, cv: float, factor: float = 1.0) -> list[float]:
    sigma = math.sqrt(math.log1p(cv * cv))
    return [factor * math.exp(rng.gauss(-sigma * sigma / 2, sigma)) for _ in range(count)]


def test_noise_alone_raises_nothing():
    rng = random.Random(4)
    found, states = watch(_stream(_noisy(rng, 400, 0.10)), SETTINGS)
    assert found == []
    assert states["weld"].factor == 1.0 and states["weld"].completions == 400


def test_a_sustained_step_is_detected_within_a_few_completions_and_estimated():
    rng = random.Random(5)
    found, states = watch(_stream(_noisy(rng, 60, 0.10) + _noisy(rng, 40, 0.10, 1.3)), SETTINGS)
    assert len(found) == 1
    step = found[0]
    assert 600 < step.time <= 700  # within 10 completions of the onset (completion 60 ends at 600)
    assert abs(step.factor - 1.3) < 0.1 and step.samples and all(s.startswith("o") for s in step.samples)
    assert states["weld"].factor == step.factor


def test_the_return_to_plan_is_detected_and_restores_the_planned_times():
    rng = random.Random(6)
    ratios = _noisy(rng, 40, 0.05) + _noisy(rng, 40, 0.05, 1.5) + _noisy(rng, 40, 0.05)
    found, states = watch(_stream(ratios), SETTINGS)
    slow = [d for d in found if d.time <= 800]  # completion 80 ends at 800: the slow phase
    assert slow[0].time <= 460 and abs(slow[-1].factor - 1.5) < 0.05  # first a quick estimate, then refined
    assert found[-1].factor == 1.0 and len(found) <= 4  # back to plan, without flapping
    assert states["weld"].factor == 1.0


def test_one_slow_part_does_not_trigger_but_the_naive_monitor_does():
    ratios = [1.0] * 20 + [3.0] + [1.0] * 20
    assert watch(_stream(ratios), SETTINGS)[0] == []
    assert [d.factor for d in naive(_stream(ratios), 0.05)] == [3.0, 1.0]


def test_a_deviation_inside_the_tolerance_never_triggers():
    rng = random.Random(7)
    found, _ = watch(_stream(_noisy(rng, 300, 0.03, 1.03)), SETTINGS)
    assert found == []


def test_stations_are_watched_apart_and_numbered():
    samples = {
        "a": [Sample(f"a{k}", k + 1, 2.0) for k in range(6)],
        "b": [Sample(f"b{k}", k + 1, 1.0) for k in range(6)],
    }
    found, states = watch(samples, SETTINGS)
    assert [(d.station, d.number, d.factor) for d in found] == [("a", 1, 2.0)]
    assert states["b"].factor == 1.0
