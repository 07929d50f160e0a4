"""Protobuf <-> domain for ``SweepScenarios``: the sweep document in (validated like a sweep
file, each problem at its proto path), progress and the results out. Beside ``convert``,
whose messages it builds on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scheduler.domain import InputError, Scenario
from scheduler.domain.documents import DocumentLimits
from scheduler.domain.errors import FieldProblem
from scheduler.service.convert import document_data, pb
from scheduler.sweep.grid import count
from scheduler.sweep.spec import SweepSpec, parse_sweep

if TYPE_CHECKING:  # the twin and the engine under it, for types only
    from scheduler.sweep.search import Progress

_WHERE = "sweep.content"
MAX_CONFIGURATIONS = 10_000
"""Over gRPC: the results come back in one message, about 1 KB per configuration (10 MB here,
under the 64 MiB default); the command line takes the sweep file's own limit."""


def sweep_from(request: pb.SweepScenariosRequest, scenario: Scenario, limits: DocumentLimits) -> SweepSpec:
    """The request's sweep checked against the plan's scenario, with the request's
    replications and seed instead of the document's when they are set."""
    data = document_data(request.sweep, _WHERE, "sweep", limits)
    try:
        spec = parse_sweep(data, _WHERE).against(scenario, _WHERE)
    except InputError as error:  # "sweep.content: axes.conwip" -> "sweep.content.axes.conwip"
        raise _named(error, f"{_WHERE}: ", f"{_WHERE}.") from None
    if (n := count(spec.axes)) > MAX_CONFIGURATIONS:
        raise InputError.single(f"{_WHERE}.axes", f"{n} configurations: at most {MAX_CONFIGURATIONS} over gRPC "
                                "(the results are one message); `lean-scheduler sweep` runs more")  # fmt: skip
    given = {name: getattr(request, name) if request.HasField(name) else None for name in ("replications", "seed")}
    try:
        return spec.overridden("request", **given)
    except InputError as error:  # the request's own fields
        raise _named(error, "request: ", "") from None


def _named(error: InputError, prefix: str, wire: str) -> InputError:
    return InputError([FieldProblem(p.field.replace(prefix, wire, 1), p.message) for p in error.problems])


def progress_message(progress: Progress) -> pb.SweepScenariosResponse:
    p = progress
    message = pb.SweepProgress(runs_done=p.runs_done, runs_total=p.runs_total, best=p.best or "",
                               configurations_done=p.configurations_done,
                               configurations_total=p.configurations_total)  # fmt: skip
    if p.best_score is not None:
        message.best_score = p.best_score
    return pb.SweepScenariosResponse(progress=message)


def result_message(results: Mapping[str, Any]) -> pb.SweepScenariosResponse:
    """The results (``scheduler.sweep.results.document`` with ``origin``) and their best."""
    best, origin = results["best"] or {}, results["origin"]
    message = pb.SweepResult(results_json=json.dumps(results), best=best.get("key", ""), version=origin["version"],
                             now_tick=origin["now"])  # fmt: skip
    if best.get("score") is not None:
        message.best_score = best["score"]
    return pb.SweepScenariosResponse(result=message)
