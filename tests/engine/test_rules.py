"""Lean rules in the engine: a starving drum seen from the facts fires a rule, the firing is
a parameter change repaired like any event, logged, and replayed to the same versions."""

from __future__ import annotations

from typing import Any

from scheduler.check import check
from scheduler.domain import Scenario
from scheduler.domain.events import Event, ParameterChanged, RuleRevised
from scheduler.domain.files import load_scenario
from scheduler.domain.rules import Rule
from scheduler.engine import LivePlan, PlanBook, snapshot
from scheduler.engine.line import line_state
from scheduler.lean.rules import RULES
from scheduler.store import SqliteStore
from tests.engine.test_ledger import REPRO, SMALL, _base, checked, done, start

FEED = {
    "id": "feed-weld",
    "when": {"kpi": "bottleneck_starvation", "window": 20, "above": 0.5},
    "then": {"set": "kanban", "buffer": "cut->weld", "step": 1, "min": 1, "max": 4},
    "expect": {"kpi": "bottleneck_starvation", "below": 0.5, "within": 30},
    "cooldown": 30,
}


def ruled(*rules: dict[str, Any]) -> Scenario:
    return load_scenario(SMALL).model_copy(update={"rules": [Rule.model_validate(r) for r in rules]})


def plan(*rules: dict[str, Any]) -> LivePlan:
    return LivePlan.create(ruled(*rules), _base(), REPRO.model_copy(update={"started": "reported"}))


def starving() -> list[Event]:
    """The first cut runs 30 minutes: nothing reaches the weld cell until then."""
    return [start("s-E-cut", "E-cut", 0), done("c-E-cut", "E-cut", 30)]


def cap(live: LivePlan, buffer: str) -> int:
    return next(b.kanban for b in live.scenario.plant.buffers if b.id == buffer)


def test_a_starving_drum_fires_the_rule_and_its_change_is_repaired_under_the_new_cap():
    live = plan(FEED)
    for event in starving():
        checked(live.apply(event))
    (fired,) = [e for e in live.derived() if isinstance(e, ParameterChanged)]
    assert (fired.source, fired.event_id, fired.rule, fired.value, fired.previous_value) == (
        RULES, "rule-feed-weld-1", "feed-weld", 3, 2)  # fmt: skip
    assert fired.time == 30 and fired.kpi_before == 1.0
    result = checked(live.apply(fired))
    assert result.receipt.event_id == "rule-feed-weld-1" and cap(live, "cut->weld") == 3
    assert check(live.problem(), live.timetable(live.problem())).valid
    assert [e for e in live.derived() if isinstance(e, ParameterChanged)] == []  # waiting for its verdict
    state = line_state(live, None)
    assert [(r.rule, r.attempts, r.pending is not None) for r in state.rules] == [("feed-weld", 1, True)]
    assert state.firings[0]["action"] == "kanban cut->weld = 3" and state.firings[0]["verdict"] is None


def test_a_planners_change_and_a_suspension_are_events_like_any_other():
    live = plan(FEED)
    change = ParameterChanged(event_id="set-1", source="planner", time=0, parameter="conwip", value=2,
                              reason="hold WIP down")  # fmt: skip
    checked(live.apply(change))
    assert live.scenario.plant.conwip == 2 and live.rule_log == [change]
    checked(live.apply(RuleRevised(event_id="r-1", source="planner", time=0, rule="feed-weld", revision="suspend")))
    for event in starving():
        checked(live.apply(event))
    assert [e for e in live.derived() if e.source == RULES] == []  # suspended: it does not fire
    preset = ParameterChanged(event_id="set-2", source="planner", time=30, parameter="preset", preset="stability")
    checked(live.apply(preset))
    assert live.policy.stability.moved_operations == 100


def test_the_book_logs_the_firing_and_a_restart_reaches_the_same_versions(tmp_path):
    book = PlanBook(SqliteStore(tmp_path))
    book.create(ruled(FEED).model_copy(update={"baseline": _base(), "policy": _reported()}), "p")
    report = book.report("p", starving())
    assert "rule-feed-weld-1" in [a.event_id for a in report.derived]
    assert book.store.find("p", RULES, "rule-feed-weld-1") is not None
    latest, log = book.get("p"), list(book._plans["p"].live.rule_log)
    book.store.close()
    again = PlanBook(SqliteStore(tmp_path))
    restored = again._plans["p"].live
    assert again.get("p").version == latest.version and dict(again.get("p").plan) == dict(latest.plan)
    assert restored.rule_log == log and cap(restored, "cut->weld") == 3


def test_a_snapshot_keeps_the_caps_the_policy_and_the_rules_log():
    live = plan(FEED)
    for event in starving():
        checked(live.apply(event))
    for event in live.derived():
        checked(live.apply(event))
    checked(live.apply(ParameterChanged(event_id="set-p", source="planner", time=31, parameter="preset",
                                        preset="stability")))  # fmt: skip
    back = snapshot.load(ruled(FEED), snapshot.dump(live, None))
    assert cap(back, "cut->weld") == 3 and back.policy == live.policy and back.rule_log == live.rule_log
    assert back.derived() == live.derived()


def _reported() -> Any:
    policy = load_scenario(SMALL).policy
    return policy.model_copy(update={"repair": REPRO.model_copy(update={"started": "reported"})})
