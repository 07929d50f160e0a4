"""Lean decision rules, evaluated: which rules fire now, which firings are judged, which
rules are revised, all as events (source ``rules``) derived from the rules' log so far and
the realised KPIs. Pure: the engine supplies the KPIs, the current parameters and, for
``verify: twin``, a predictor.

The revision policy (docs/lean.md):
- a firing is judged ``expect.within`` ticks after it, on the expected KPI over those ticks
  against the same span before it (measured when it fired): *effective* when the expectation is met, *harmful* when
  the KPI moved the wrong way, else *ineffective*;
- harmful: the action is reverted (if nobody changed the parameter since) and the step
  halved, or the rule suspended when the step cannot halve (|step| = 1, or a preset);
- ineffective twice in a row: the step halved (or the rule suspended, as above); three
  times in a row: suspended. An effective firing clears the count;
- a suspended rule stays so until a planner resumes it (a ``rule_revised`` ``resume``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scheduler.domain.events import Event, ParameterChanged, RuleJudged, RuleRevised
from scheduler.domain.rules import Action, Expectation, Kpi, Rule

RULES = "rules"
"""The source of the rules' events."""

Measure = Callable[[Kpi, str | None, int, int], float | None]
"""(KPI, buffer or None, start, end) -> the realised KPI over [start, end), None if unmeasured."""
Current = Callable[[Action], int | str | None]
"""The parameter an action changes, as it is now."""
Predict = Callable[[ParameterChanged, int, Expectation], tuple[float, float] | None]
"""(the firing, horizon, what it expects) -> the expected KPI without and with it, or None."""
RuleRecord = ParameterChanged | RuleJudged | RuleRevised
_REVERT = "revert-"


@dataclass
class RuleState:
    rule: str
    step: int
    suspended: bool = False
    attempts: int = 0
    """Firings and vetoes so far (numbers the next one)."""
    revisions: int = 0
    misses: int = 0
    """Consecutive firings judged ineffective or harmful."""
    last: int | None = None
    """When it last fired or was vetoed (for the cooldown)."""
    pending: ParameterChanged | None = None
    """Its firing not judged yet."""
    verdicts: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "step": self.step, "suspended": self.suspended, "firings": self.attempts,
                "misses": self.misses, "last": self.last, "pending": self.pending.event_id if self.pending else None,
                "verdicts": list(self.verdicts)}  # fmt: skip


def states(rules: Sequence[Rule], log: Sequence[Event]) -> dict[str, RuleState]:
    """Each rule's state after the rules' records in ``log`` (in the order taken)."""
    out = {r.id: RuleState(r.id, r.then.step) for r in rules}
    for event in log:
        state = out.get(getattr(event, "rule", None) or "")
        if state is None:
            continue
        if isinstance(event, ParameterChanged) and event.source == RULES and not is_revert(event):
            state.attempts, state.last, state.pending = state.attempts + 1, event.time, event
        elif isinstance(event, RuleJudged):
            _judged(state, event)
        elif isinstance(event, RuleRevised):
            state.revisions += 1
            state.suspended = event.revision == "suspend"
            state.step = event.step if event.step is not None else state.step
            state.misses = 0 if event.revision == "resume" else state.misses
    return out


def _judged(state: RuleState, event: RuleJudged) -> None:
    state.verdicts.append(event.verdict)
    if event.verdict == "vetoed":
        state.attempts, state.last = state.attempts + 1, event.time
        return
    state.pending = None
    state.misses = 0 if event.verdict == "effective" else state.misses + 1


def evaluate(
    rules: Sequence[Rule],
    log: Sequence[Event],
    now: int,
    measure: Measure,
    current: Current,
    predict: Predict | None = None,
) -> list[RuleRecord]:
    """The rules' events due at ``now``: judgements (and the revisions they call for) first,
    then firings (or vetoes)."""
    found: list[RuleRecord] = []
    known = states(rules, log)
    for rule in rules:
        state = known[rule.id]
        if state.pending is not None and now >= state.pending.time + rule.expect.within:
            found += _judge(rule, state, state.pending, now, measure, current)
        elif state.pending is None:
            found += _fire(rule, state, now, measure, current, predict)
    return found


def _judge(rule: Rule, state: RuleState, firing: ParameterChanged, now: int, measure: Measure,
           current: Current) -> list[RuleRecord]:  # fmt: skip
    expect, t = rule.expect, firing.time
    before = firing.baseline  # measured when it fired: a KPI that depends on the caps is the one then
    after = _rounded(measure(expect.kpi, expect.buffer, t, t + expect.within))
    verdict = "ineffective"
    if after is not None and expect.met(after):
        verdict = "effective"
    elif after is not None and before is not None and _worse(expect, before, after):
        verdict = "harmful"
    judged = RuleJudged(event_id=f"judged-{firing.event_id}", source=RULES, time=now, rule=rule.id,
                        firing=firing.event_id, verdict=verdict, kpi_before=before, kpi_after=after)  # fmt: skip
    out: list[RuleRecord] = [judged]
    misses = 0 if verdict == "effective" else state.misses + 1
    if verdict == "harmful" and current(rule.then) == _value_of(firing) and _revertible(firing):
        out.append(_revert(firing, now))
    revision = _revision(rule, state, verdict, misses)
    if revision is not None:
        kind, step = revision
        out.append(RuleRevised(event_id=f"revised-{rule.id}-{state.revisions + 1}", source=RULES, time=now,
                               rule=rule.id, revision=kind, step=step,
                               reason=f"{verdict} ({misses} miss(es) in a row)"))  # fmt: skip
    return out


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _worse(expect: Expectation, before: float, after: float) -> bool:
    return after > before if expect.below is not None else after < before


def _revision(rule: Rule, state: RuleState, verdict: str, misses: int) -> tuple[str, int | None] | None:
    """What the policy makes of a verdict: ("halve_step" | "suspend", the new step) or None."""
    if verdict == "effective" or (verdict == "ineffective" and misses < 2):
        return None
    halved = int(state.step / 2)
    if misses >= 3 or halved == 0 or rule.then.set == "preset":
        return "suspend", None
    return "halve_step", halved


def _value_of(change: ParameterChanged) -> int | str | None:
    return change.preset if change.parameter == "preset" else change.value


def _revertible(change: ParameterChanged) -> bool:
    if change.parameter == "preset":
        return change.previous_preset in ("efficiency", "stability")
    return change.previous_value is not None


def is_revert(event: Event) -> bool:
    """A rule's firing undone (by the revision policy), not a firing."""
    return isinstance(event, ParameterChanged) and event.source == RULES and event.event_id.startswith(_REVERT)


def _revert(firing: ParameterChanged, now: int) -> ParameterChanged:
    preset = firing.previous_preset if firing.parameter == "preset" else None
    return ParameterChanged(event_id=f"{_REVERT}{firing.event_id}", source=RULES, time=now, parameter=firing.parameter,
                            buffer=firing.buffer, value=firing.previous_value, preset=preset, rule=firing.rule,
                            reason=f"revert {firing.event_id}: the KPI got worse")  # fmt: skip


def _fire(rule: Rule, state: RuleState, now: int, measure: Measure, current: Current,
          predict: Predict | None) -> list[RuleRecord]:  # fmt: skip
    when = rule.when
    if (
        state.suspended
        or now < max(when.window, rule.warmup)
        or (state.last is not None and now - state.last < max(1, rule.cooldown))
    ):
        return []
    value = measure(when.kpi, when.buffer, now - when.window, now)
    if value is None or not when.met(value):
        return []
    firing = _firing(rule, state, now, value, current(rule.then))
    if firing is None:
        return []
    expect = rule.expect
    baseline = _rounded(measure(expect.kpi, expect.buffer, max(0, now - expect.within), now))
    firing = firing.model_copy(update={"baseline": baseline})
    if rule.verify == "twin":
        predicted = predict(firing, rule.horizon or rule.expect.within, rule.expect) if predict else None
        if predicted is None or not _improves(rule.expect, *predicted):
            without, with_it = predicted if predicted is not None else (None, None)
            return [RuleJudged(event_id=f"vetoed-{firing.event_id}", source=RULES, time=now, rule=rule.id,
                               firing=firing.event_id, verdict="vetoed", kpi_before=without,
                               kpi_after=with_it)]  # fmt: skip
    return [firing]


def _improves(expect: Expectation, without: float, with_it: float) -> bool:
    return with_it < without if expect.below is not None else with_it > without


def _firing(rule: Rule, state: RuleState, now: int, value: float, now_is: int | str | None) -> ParameterChanged | None:
    """The change the rule makes now, or None when its bound (or the preset in force) leaves nothing to do."""
    action = rule.then
    reason = f"{rule.when.kpi} {value:.4g} {_side(rule)} over {rule.when.window}"
    common: dict[str, Any] = {"event_id": f"rule-{rule.id}-{state.attempts + 1}", "source": RULES, "time": now,
                              "parameter": action.set, "buffer": action.buffer, "rule": rule.id,
                              "kpi_before": round(value, 6), "reason": reason}  # fmt: skip
    if action.set == "preset":
        if now_is == action.value or not isinstance(now_is, str | None):
            return None
        return ParameterChanged(**common, preset=action.value, previous_preset=now_is)
    if not isinstance(now_is, int):
        return None
    target = min(action.max, max(action.min, now_is + state.step))
    return None if target == now_is else ParameterChanged(**common, value=target, previous_value=now_is)


def _side(rule: Rule) -> str:
    return f"> {rule.when.above:g}" if rule.when.above is not None else f"< {rule.when.below:g}"


def records(rules: Sequence[Rule], log: Sequence[Event]) -> dict[str, list[dict[str, Any]]]:
    """The rules' firings (each with its verdict once judged), vetoes and revisions, as plain data."""
    verdicts = {e.firing: e for e in log if isinstance(e, RuleJudged)}
    firings, revisions, vetoes = [], [], []
    for e in log:
        if isinstance(e, ParameterChanged) and e.rule is not None and not is_revert(e):
            judged = verdicts.get(e.event_id)
            firings.append({"time": e.time, "rule": e.rule, "event_id": e.event_id, "action": describe(e),
                            "trigger": e.kpi_before, "kpi_before": e.baseline,
                            "kpi_after": judged.kpi_after if judged else None,
                            "verdict": judged.verdict if judged else None})  # fmt: skip
        elif isinstance(e, RuleRevised) or (isinstance(e, ParameterChanged) and e.rule is not None):
            revisions.append({"time": e.time, "rule": e.rule, "event_id": e.event_id,
                              "revision": e.revision if isinstance(e, RuleRevised) else "revert",
                              "step": e.step if isinstance(e, RuleRevised) else None,
                              "reason": e.reason})  # fmt: skip
        elif isinstance(e, RuleJudged) and e.verdict == "vetoed":
            vetoes.append({"time": e.time, "rule": e.rule, "predicted_without": e.kpi_before,
                           "predicted_with": e.kpi_after})  # fmt: skip
    known = {r.id for r in rules}
    return {"rule_firings": [f for f in firings if f["rule"] in known], "rule_revisions": revisions,
            "rule_vetoes": vetoes}  # fmt: skip


def describe(change: ParameterChanged) -> str:
    """``kanban bend->weld = 5``, ``conwip = 12``, ``preset = stability``."""
    what = f"kanban {change.buffer}" if change.parameter == "kanban" else change.parameter
    return f"{what} = {change.preset if change.parameter == 'preset' else change.value}"
