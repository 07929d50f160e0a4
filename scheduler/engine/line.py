"""The line as it runs: realised KPIs from the ledger's facts, planned KPIs of plan versions
(one set of definitions, ``lean.kpis``), the takt monitor's view of each station, and the
lean rules' state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scheduler.domain.events import Event, RuleRevised
from scheduler.engine.live import LivePlan
from scheduler.engine.takt import Watched
from scheduler.engine.timeline import line_of, realised, runs_of
from scheduler.lean.kpis import LineKpis, line_kpis
from scheduler.lean.rules import RuleState, is_revert, records, states
from scheduler.problem import Position


@dataclass(frozen=True)
class LineState:
    now: int
    window: tuple[int, int]
    """The realised window [now - window, now)."""
    realised: LineKpis
    baseline: LineKpis | None
    """The first plan over the same window: how the line does against what was planned."""
    planned: LineKpis
    """The latest plan over [now, now + window): what it expects next."""
    watched: Watched
    rules: list[RuleState]
    firings: list[dict[str, Any]]
    """The rules' firings, each with its verdict once judged (``lean.rules.records``)."""
    revisions: list[Event]
    """The rules' revisions and reverts, as taken."""


def line_state(live: LivePlan, baseline: Mapping[str, Position] | None, window: int | None = None) -> LineState:
    """Realised KPIs over the last ``window`` ticks (None: since the start), the first plan
    over the same window, the latest plan over the next ``window`` ticks, the monitor."""
    problem = live.problem()
    line = line_of(live.scenario, problem)
    start = 0 if window is None else max(0, live.now - window)
    ahead = (window or max(1, live.now)) + live.now
    first = {op: s for op, (_, s, _) in baseline.items()} if baseline else None
    return LineState(
        now=live.now,
        window=(start, live.now),
        realised=line_kpis(realised(live.situation()[0].fixed, live.now, live.scenario), line, start, live.now, first),
        baseline=line_kpis(runs_of(baseline, live.scenario), line, start, live.now) if baseline else None,
        planned=line_kpis(runs_of(live.plan, live.scenario), line, live.now, ahead),
        watched=live.watched(),
        rules=list(states(live.scenario.rules, live.rule_log).values()),
        firings=records(live.scenario.rules, live.rule_log)["rule_firings"],
        revisions=[e for e in live.rule_log if isinstance(e, RuleRevised) or is_revert(e)],
    )
