"""Stability terms: how much a repaired plan differs from the plan it repairs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from scheduler.problem import ProblemData, Timetable
from scheduler.solver.variables import Variables


@dataclass(frozen=True)
class Stability:
    """Weights on change against ``reference`` (per op: (machine, start) in the old plan, or
    None for an op it did not have). ``efficiency_scale`` multiplies the efficiency terms,
    so that stability can be a tie-breaker (large scale) or dominate (scale 1)."""

    reference: tuple[tuple[int, int] | None, ...]
    moved: int = 1
    shift: int = 0
    reassigned: int = 1
    efficiency_scale: int = 10


def stability_terms(
    model: cp_model.CpModel, problem: ProblemData, v: Variables, stability: Stability
) -> list[cp_model.LinearExprT]:
    """Exact per-op indicators (so the objective equals its recomputation): moved = start or
    machine changed; shift = |start - old start|; reassigned = machine changed."""
    terms: list[cp_model.LinearExprT] = []
    for i, ref in enumerate(stability.reference):
        if ref is None or problem.fixed(i) is not None:
            continue
        machine, start = ref
        if (kept := v.constant[i]) is not None:  # pinned: its change is a constant
            terms.append(
                stability.moved * int((kept[0], kept[1]) != (machine, start))
                + stability.shift * abs(kept[1] - start)
                + stability.reassigned * int(kept[0] != machine)
            )
            continue
        modes = problem.op_modes[i]
        ref_lit = next((lit for (m, _), lit in zip(modes, v.mode_present[i], strict=True) if m == machine), 0)
        reassigned: cp_model.LinearExprT = 1 - ref_lit if len(modes) > 1 else (0 if ref_lit else 1)
        if stability.moved:
            shifted = v.derive(model.new_bool_var(f"shifted_{i}"), _indicator(i, start, None))
            model.add(v.start[i] == start).only_enforce_if(~shifted)
            model.add(v.start[i] != start).only_enforce_if(shifted)
            moved = v.derive(
                model.new_bool_var(f"moved_{i}"),
                _indicator(i, start, machine),
            )
            model.add_max_equality(moved, [shifted, reassigned])
            terms.append(stability.moved * moved)
        if stability.shift:
            shift = v.derive(model.new_int_var(0, problem.horizon, f"shift_{i}"), _shift(i, start))
            model.add_abs_equality(shift, v.start[i] - start)
            terms.append(stability.shift * shift)
        if stability.reassigned and len(modes) > 1:
            terms.append(stability.reassigned * reassigned)
    return terms


def _indicator(op: int, start: int, machine: int | None) -> Callable[[Timetable], int]:
    """1 when ``op`` starts elsewhere than ``start`` (or, given ``machine``, runs elsewhere)."""
    return lambda t: int(t.start[op] != start or (machine is not None and t.machine[op] != machine))


def _shift(op: int, start: int) -> Callable[[Timetable], int]:
    return lambda t: abs(t.start[op] - start)
