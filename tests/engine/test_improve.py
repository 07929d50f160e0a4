"""Background improvement: a pass improves a poor plan, keeps the frozen horizon, is logged
as a plan_improved event that replays to the same version, and gives way to any call."""

from __future__ import annotations

import time
from pathlib import Path

from scheduler.domain import RepairPolicy, Scenario
from scheduler.domain.events import DowntimeStarted
from scheduler.domain.files import load_scenario
from scheduler.domain.tiers import TierName
from scheduler.engine import LivePlan, PlanBook
from scheduler.engine.activity import Activity
from scheduler.engine.improve import Improver, improvement
from scheduler.problem import compile_problem, schedule_from_timetable
from scheduler.repair import pull
from scheduler.store import SqliteStore

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "demo_line.yaml"
REPRO = RepairPolicy(budget_ms=300, margin_ms=0, workers=1, deterministic=True)


def poor_scenario(policy: RepairPolicy = REPRO, rule: pull.Rule = pull.Rule.EDD) -> Scenario:
    """The demo line with a shop's hand-made pull plan as the baseline: valid, and far from the best."""
    scenario = load_scenario(DEMO)
    problem = compile_problem(scenario)
    plan = pull.shop(pull.line_of(problem), rule)
    assert plan is not None
    return scenario.model_copy(update={"baseline": schedule_from_timetable(problem, plan),
                                       "policy": scenario.policy.model_copy(update={"repair": policy})})  # fmt: skip


def poor_live(policy: RepairPolicy = REPRO, rule: pull.Rule = pull.Rule.EDD) -> LivePlan:
    return LivePlan.create(poor_scenario(policy, rule))


def test_a_pass_improves_a_poor_plan_and_the_result_passes_the_checker():
    live = poor_live()
    before = live.kpis
    found = improvement(live, 1.0, 0.005)
    assert found is not None
    assert before is not None and found.trial.kpis is not None
    assert found.trial.kpis.objective <= 0.995 * before.objective
    assert found.trial.check().valid
    assert found.trial.version == live.version + 1
    assert live.kpis == before  # the live plan itself does not change
    assert found.receipt.tier is TierName.BACKGROUND and found.receipt.valid
    assert found.event.objective_after == found.trial.kpis.objective
    assert found.event.source == "improver" and found.event.based_on == live.version


def test_nothing_inside_the_frozen_horizon_moves():
    # the shop's plan itself (a repair after an event would leave little to improve: tier 0
    # now always completes its left-shift in deterministic runs)
    live = poor_live(REPRO.model_copy(update={"frozen_horizon": 100}), pull.Rule.FIFO)
    found = improvement(live, 1.0, 0.001)
    assert found is not None
    horizon = live.now + 100
    for op, (machine, start, end) in live.plan.items():
        if start < horizon:
            assert found.trial.plan[op] == (machine, start, end), op


def test_no_improvement_below_the_threshold():
    assert improvement(poor_live(), 1.0, 0.99) is None


def test_a_published_version_is_logged_and_a_restart_reaches_it(tmp_path):
    store = SqliteStore(tmp_path)
    book = PlanBook(store)
    book.create(poor_scenario(), "line")
    improver = Improver(book, share=1.0, min_gain=0.005, idle_s=0.0, slice_s=1.0)
    assert improver.step()
    assert improver.published == 1 and improver.last is not None and improver.last.version == 2
    latest = book.get("line")
    assert latest.receipt is not None and latest.receipt.tier is TierName.BACKGROUND
    assert latest.kpis.objective < book.get("line", 1).kpis.objective
    logged = store.log("line")
    assert [(r.source, r.event_id, r.version) for r in logged] == [("improver", "improved-1", 2)]
    store.close()

    again = PlanBook(SqliteStore(tmp_path))
    assert again.get("line").plan == latest.plan and again.get("line").version == 2
    # the next event repairs the improved plan
    ack = again.report("line", [DowntimeStarted(event_id="d", time=50, machine="WELD-1", downtime_id="d1")]).acks[0]
    assert ack.version == 3 and ack.receipt.valid


def test_a_call_stops_background_work_at_once_and_a_changed_plan_is_not_published(tmp_path):
    activity = Activity()
    with activity.background() as token:
        assert not token.stopped
        with activity.call():
            assert token.stopped  # the arriving call stopped it
            with activity.background() as late:
                assert late.stopped  # nothing starts while a call is in flight
            assert activity.idle_s() == 0

    book = PlanBook(SqliteStore(tmp_path))
    book.create(poor_scenario(), "p")
    forked = book.fork("p")
    assert forked is not None
    live, position = forked
    found = improvement(live, 1.0, 0.005)
    assert found is not None
    book.report("p", [DowntimeStarted(event_id="d", time=10, machine="WELD-1", downtime_id="d1")], budget_ms=50)
    time.sleep(0.01)
    assert book.publish("p", position, found.trial, found.event, found.receipt) is None  # taken meanwhile
    assert book.get("p").receipt is not None and book.get("p").receipt.tier is not TierName.BACKGROUND
