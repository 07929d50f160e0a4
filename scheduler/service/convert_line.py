"""Protobuf <-> domain for the line's state (``GetLineState``): realised and planned lean
KPIs, the takt monitor's stations, the lean rules. Beside ``convert``, whose messages it
builds on; the engine is imported for types only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scheduler.service.convert import event_message, pb

if TYPE_CHECKING:
    from scheduler.engine.line import LineState
    from scheduler.lean.kpis import LineKpis
    from scheduler.lean.rules import RuleState


def line_state_message(plan_id: str, state: LineState) -> pb.GetLineStateResponse:
    stations = []
    for name, s in state.watched.stations.items():
        message = pb.StationState(station=name, factor=s.factor, completions=s.completions, cusum_up=s.cusum_up,
                                  cusum_down=s.cusum_down, sigma=s.sigma)  # fmt: skip
        if s.last_end is not None:
            message.last_end_tick = s.last_end
        if name in state.watched.silent:
            message.silent_since_tick = state.watched.silent[name]
        stations.append(message)
    response = pb.GetLineStateResponse(plan_id=plan_id, now_tick=state.now, window_start_tick=state.window[0],
                                       realised=_kpis(state.realised), planned=_kpis(state.planned),
                                       stations=stations, revisions=[event_message(e) for e in state.revisions],
                                       rules=[_rule(r) for r in state.rules],
                                       firings=[_firing(f) for f in state.firings])  # fmt: skip
    if state.baseline is not None:
        response.baseline.CopyFrom(_kpis(state.baseline))
    return response


def _rule(state: RuleState) -> pb.RuleState:
    message = pb.RuleState(rule=state.rule, step=state.step, suspended=state.suspended, firings=state.attempts,
                           misses=state.misses, pending=state.pending.event_id if state.pending else "",
                           verdicts=state.verdicts)  # fmt: skip
    if state.last is not None:
        message.last_tick = state.last
    return message


def _firing(firing: Mapping[str, Any]) -> pb.RuleFiring:
    message = pb.RuleFiring(tick=firing["time"], rule=firing["rule"], event_id=firing["event_id"],
                            action=firing["action"], verdict=firing["verdict"] or "")  # fmt: skip
    for name in ("kpi_before", "kpi_after"):
        if firing[name] is not None:
            setattr(message, name, firing[name])
    return message


def _kpis(k: LineKpis) -> pb.LineKpis:
    message = pb.LineKpis(start_tick=k.start, end_tick=k.end, completed=k.completed, throughput=k.throughput,
                          wip_mean=k.wip_mean, wip_peak=k.wip_peak)  # fmt: skip
    for name in ("takt", "takt_adherence", "lead_time_mean", "waiting_mean", "bottleneck_utilisation",
                 "bottleneck_starvation", "blocking", "schedule_adherence"):  # fmt: skip
        if (value := getattr(k, name)) is not None:
            setattr(message, name, value)
    return message
