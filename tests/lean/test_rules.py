"""The rules' evaluation on synthetic KPI streams: firing, cooldown, warm-up, bounds, the
judgement of a firing, each path of the revision policy, and the twin's veto."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from scheduler.domain.events import Event, ParameterChanged, RuleJudged, RuleRevised
from scheduler.domain.rules import Rule
from scheduler.lean.rules import RULES, evaluate, records, states

Stream = Callable[[int], float]


def rule(**changes: Any) -> Rule:
    data: dict[str, Any] = {
        "id": "feed",
        "when": {"kpi": "bottleneck_starvation", "window": 50, "above": 0.2},
        "then": {"set": "kanban", "buffer": "bend->weld", "step": 2, "min": 1, "max": 6},
        "expect": {"kpi": "bottleneck_starvation", "below": 0.1, "within": 40},
        "cooldown": 30,
    }
    data.update(changes)
    return Rule.model_validate(data)


def measure_of(stream: Stream) -> Callable[..., float]:
    """A KPI whose value over [start, end) is the stream's mean at the window's ticks."""

    def measure(kpi: str, buffer: str | None, start: int, end: int) -> float:
        return sum(stream(t) for t in range(start, end)) / max(1, end - start)

    return measure


class Line:
    """A kanban cap that the rules' own parameter changes move, and the log they write."""

    def __init__(self, cap: int = 3) -> None:
        self.cap = cap
        self.log: list[Event] = []

    def step(self, rules: list[Rule], now: int, stream: Stream, predict: Any = None) -> list[Event]:
        found = evaluate(rules, self.log, now, measure_of(stream), lambda a: self.cap, predict)
        for e in found:
            if isinstance(e, ParameterChanged):
                assert e.value is not None
                self.cap = e.value
        self.log += found
        return list(found)


def run(rules: list[Rule], stream: Stream, until: int, line: Line | None = None, **kw: Any) -> Line:
    line = line or Line()
    for now in range(0, until, 5):
        line.step(rules, now, stream, **kw)
    return line


def test_a_rule_fires_once_its_window_is_above_the_threshold_and_not_below():
    assert run([rule()], lambda t: 0.1, 200).log == []
    line = Line()
    assert line.step([rule()], 45, lambda t: 0.9) == []  # the window is not full yet
    (fired,) = line.step([rule()], 50, lambda t: 0.9)
    assert isinstance(fired, ParameterChanged) and fired.source == RULES and fired.event_id == "rule-feed-1"
    assert (fired.parameter, fired.buffer, fired.value, fired.previous_value) == ("kanban", "bend->weld", 5, 3)
    assert fired.kpi_before == 0.9 and line.cap == 5


def test_warm_up_and_cooldown_hold_a_rule_back():
    line = run([rule(warmup=120)], lambda t: 0.9, 120)
    assert line.log == []
    line = Line()
    always_bad = lambda t: 0.9  # noqa: E731
    quick = rule(expect={"kpi": "bottleneck_starvation", "below": 0.1, "within": 10})
    firings = [e.time for now in range(50, 300, 5) for e in line.step([quick], now, always_bad)
               if isinstance(e, ParameterChanged)]  # fmt: skip
    assert len(firings) >= 2 and firings[0] == 50
    assert all(b - a >= 30 for a, b in itertools.pairwise(firings))


def test_a_rule_at_its_bound_does_not_fire():
    line = Line(cap=6)
    assert line.step([rule()], 60, lambda t: 0.9) == []
    line = Line(cap=5)
    (fired,) = line.step([rule()], 60, lambda t: 0.9)
    assert isinstance(fired, ParameterChanged) and fired.value == 6  # clamped to max


def test_an_effective_firing_is_judged_so_after_expect_within():
    stream = lambda t: 0.9 if t < 50 else 0.0  # noqa: E731 - the firing at 50 cures it
    line = run([rule()], stream, 95)
    assert [e.type for e in line.log] == ["parameter_changed", "rule_judged"]
    judged = line.log[1]
    assert isinstance(judged, RuleJudged) and judged.verdict == "effective" and judged.time == 90
    assert (judged.kpi_before, judged.kpi_after, judged.firing) == (0.9, 0.0, "rule-feed-1")
    assert states([rule()], line.log)["feed"].misses == 0


def test_a_harmful_firing_is_reverted_and_the_step_halved():
    stream = lambda t: 0.3 if t < 50 else 0.8  # noqa: E731 - worse after the firing
    line = run([rule()], stream, 95)
    kinds = [(e.type, getattr(e, "verdict", None), getattr(e, "revision", None)) for e in line.log]
    assert kinds == [("parameter_changed", None, None), ("rule_judged", "harmful", None),
                     ("parameter_changed", None, None), ("rule_revised", None, "halve_step")]  # fmt: skip
    revert = line.log[2]
    assert isinstance(revert, ParameterChanged) and revert.event_id == "revert-rule-feed-1" and revert.value == 3
    assert line.cap == 3 and states([rule()], line.log)["feed"].step == 1


def test_a_harmful_firing_of_step_one_suspends_the_rule_and_it_stays_so():
    stream = lambda t: 0.3 if t < 50 else 0.8  # noqa: E731
    bad = rule(then={"set": "kanban", "buffer": "bend->weld", "step": -1, "min": 1, "max": 6})
    line = run([bad], stream, 400)
    assert [getattr(e, "revision", None) for e in line.log if isinstance(e, RuleRevised)] == ["suspend"]
    assert states([bad], line.log)["feed"].suspended and line.cap == 3
    resumed = RuleRevised(event_id="r1", source="planner", time=400, rule="feed", revision="resume")
    line.log.append(resumed)
    assert not states([bad], line.log)["feed"].suspended


def test_ineffective_twice_halves_the_step_three_times_suspends():
    roomy = rule(then={"set": "kanban", "buffer": "bend->weld", "step": 2, "min": 1, "max": 20})
    line = run([roomy], lambda t: 0.3, 600)  # above the trigger, never below the expectation, never worse
    verdicts = [e.verdict for e in line.log if isinstance(e, RuleJudged)]
    revisions = [(e.revision, e.step) for e in line.log if isinstance(e, RuleRevised)]
    assert verdicts == ["ineffective", "ineffective", "ineffective"]
    assert revisions == [("halve_step", 1), ("suspend", None)]
    firings = [e.value for e in line.log if isinstance(e, ParameterChanged)]
    assert firings == [5, 7, 8]  # +2, +2, then the halved step; then suspended
    kept = records([roomy], line.log)
    assert [f["verdict"] for f in kept["rule_firings"]] == ["ineffective"] * 3
    assert [r["revision"] for r in kept["rule_revisions"]] == ["halve_step", "suspend"]


def test_the_same_log_and_stream_give_the_same_events():
    stream = lambda t: 0.3 if t % 100 < 50 else 0.9  # noqa: E731
    first, again = run([rule()], stream, 500), run([rule()], stream, 500)
    assert [e.model_dump() for e in first.log] == [e.model_dump() for e in again.log]


def test_verify_twin_vetoes_a_firing_the_twin_predicts_to_hurt():
    checked = rule(verify="twin", horizon=60)
    asked: list[tuple[int, int]] = []

    def worse(firing: ParameterChanged, horizon: int, expect: Any) -> tuple[float, float]:
        asked.append((firing.value or 0, horizon))
        return 0.2, 0.4  # starvation without, with the firing

    line = Line()
    (vetoed,) = line.step([checked], 50, lambda t: 0.9, predict=worse)
    assert isinstance(vetoed, RuleJudged) and vetoed.verdict == "vetoed" and line.cap == 3
    assert (vetoed.kpi_before, vetoed.kpi_after) == (0.2, 0.4) and asked == [(5, 60)]
    assert line.step([checked], 60, lambda t: 0.9, predict=worse) == []  # the veto starts the cooldown
    (fired,) = line.step([checked], 80, lambda t: 0.9, predict=lambda f, h, e: (0.4, 0.1))
    assert isinstance(fired, ParameterChanged) and fired.event_id == "rule-feed-2"
    assert Line().step([checked], 50, lambda t: 0.9, predict=None)[0].type == "rule_judged"  # no twin: no firing
