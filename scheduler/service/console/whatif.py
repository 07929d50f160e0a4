"""What-if: a form over the plan's pull parameters and a hypothetical downtime, run as
EvaluateScenario runs it (a fork, under the server's admission), shown as the stability
diff and the forked Gantt beside the live one."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from scheduler.domain import InputError, Scenario
from scheduler.domain.errors import FieldProblem
from scheduler.domain.events import DowntimeStarted, Event, ParameterChanged
from scheduler.engine import PlanBook, WhatIf
from scheduler.gantt import Overlay, chart_end, row_bars
from scheduler.service.console.backend import Backend, form_fields
from scheduler.service.console.layout import page, table
from scheduler.service.console.pages import diff, gantt, live

SOURCE = "console-what-if"
_SCRIPT = """
const form = document.getElementById('whatif');
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const out = document.getElementById('result');
  out.textContent = 'running…';
  const body = new URLSearchParams(new FormData(form));
  const answer = await fetch(form.action, {method: 'POST', body: body, credentials: 'same-origin'});
  out.innerHTML = await answer.text();
});
"""


async def page_of(backend: Backend, request: Request) -> Response:
    plan_id = request.path_params["plan_id"]

    def body() -> str:
        scenario, now = backend.book.time_base(plan_id), backend.book.get(plan_id).now
        return _form(plan_id, scenario, now) + "<div id='result'></div><h2>Live plan</h2>" + live(backend.book, plan_id)

    return HTMLResponse(page(f"What-if on {plan_id}", await backend.read(body), plan_id, _SCRIPT))


def _form(plan_id: str, scenario: Scenario, now: int) -> str:
    plant = scenario.plant
    fields = [
        f"<p><label for='kanban.{escape(b.id)}'>kanban cap {escape(b.id)}</label>"
        f"<input id='kanban.{escape(b.id)}' name='kanban.{escape(b.id)}' placeholder='{b.kanban}'></p>"
        for b in plant.buffers
    ]
    fields.append(
        "<p><label for='conwip'>CONWIP cap</label>"
        f"<input id='conwip' name='conwip' placeholder='{plant.conwip or 'none'}'></p>"
    )
    machines = "".join(f"<option>{escape(m.id)}</option>" for s in plant.stations for m in s.machines)
    fields.append(
        "<p><label for='down.machine'>downtime on</label><select id='down.machine' name='down.machine'>"
        f"<option value=''>(none)</option>{machines}</select> from tick "
        f"<input id='down.start' name='down.start' placeholder='{now}'> for "
        "<input id='down.duration' name='down.duration' placeholder='ticks'></p>"
    )
    return (
        f"<form id='whatif' method='post' action='/plans/{escape(plan_id)}/whatif'>"
        "<p class='sub'>Leave a field empty to keep it as it is. Nothing live changes.</p>"
        + "".join(fields)
        + "<button type='submit'>Evaluate</button></form>"
    )


def parse(form: Mapping[str, str], scenario: Scenario, now: int) -> tuple[dict[str, int], list[Event]]:
    """The caps and events the form asks for; every bad field named at once."""
    problems: list[FieldProblem] = []
    buffers = {b.id for b in scenario.plant.buffers}
    caps: dict[str, int] = {}
    for key, text in form.items():
        if key.startswith("kanban.") and text.strip():
            buffer = key.removeprefix("kanban.")
            if buffer not in buffers:
                problems.append(FieldProblem(key, f"no buffer {buffer!r} (buffers: {', '.join(sorted(buffers))})"))
            elif (cap := _whole(form, key, 0, problems)) is not None:
                caps[buffer] = cap
    events: list[Event] = []
    if form.get("conwip", "").strip() and (conwip := _whole(form, "conwip", 1, problems)) is not None:
        events.append(
            ParameterChanged(
                event_id="what-if-conwip", source=SOURCE, time=now, parameter="conwip", value=conwip, reason="what-if"
            )
        )
    if machine := form.get("down.machine", "").strip():
        known = {m.id for s in scenario.plant.stations for m in s.machines}
        start = _whole(form, "down.start", now, problems) if form.get("down.start", "").strip() else now
        duration = _whole(form, "down.duration", 1, problems)
        if machine not in known:
            problems.append(FieldProblem("down.machine", f"no machine {machine!r}"))
        elif start is not None and duration is not None:
            events.append(
                DowntimeStarted(
                    event_id="what-if-down",
                    source=SOURCE,
                    time=start,
                    machine=machine,
                    downtime_id="what-if-down",
                    expected_duration=duration,
                )
            )
    if problems:
        raise InputError(problems)
    if not caps and not events:
        raise InputError.single("form", "change at least one cap or add a downtime")
    return caps, events


def _whole(form: Mapping[str, str], key: str, least: int, problems: list[FieldProblem]) -> int | None:
    text = form.get(key, "").strip()
    try:
        value = int(text)
    except ValueError:
        problems.append(FieldProblem(key, f"{text!r} is not a whole number"))
        return None
    if value < least:
        problems.append(FieldProblem(key, f"must be {least} or more, got {value}"))
        return None
    return value


async def run(backend: Backend, request: Request) -> Response:
    plan_id = request.path_params["plan_id"]
    form = await form_fields(request)
    book = backend.book
    scenario, now = await backend.read(lambda: (book.time_base(plan_id), book.get(plan_id).now))
    caps, events = parse(form, scenario, now)
    answer: WhatIf = await backend.admit(lambda: book.evaluate(plan_id, 0, events, caps), plan_id)
    down = tuple(
        (e.machine, e.time, e.time + (e.expected_duration or 0)) for e in events if isinstance(e, DowntimeStarted)
    )
    return HTMLResponse(await backend.read(lambda: _result(book, plan_id, answer, down)))


def _result(book: PlanBook, plan_id: str, answer: WhatIf, down: tuple[tuple[str, int, int], ...]) -> str:
    moved = diff(answer.base, answer.plan)
    board = book.board(plan_id)
    end = chart_end([(board.problem, row_bars(board.problem, v.plan)) for v in (answer.base, answer.plan)])
    d = answer.diff
    marks = Overlay(moved=frozenset(op for op, *_ in moved), down=down)
    summary = table(
        ["moved operations", "total |shift|", "machine reassignments", "makespan Δ", "weighted tardiness Δ"],
        [
            [
                str(d.moved_operations),
                str(d.total_abs_shift),
                str(d.machine_reassignments),
                f"{answer.makespan_delta:+d}",
                f"{answer.weighted_tardiness_delta:+d}",
            ]
        ],
    )
    return (
        f"<div id='diff' data-moved='{d.moved_operations}'><h2>Stability diff</h2><p class='sub'>as EvaluateScenario "
        "measures it: with new caps, against the same events under the caps in force; events alone, against the "
        f"live plan</p>{summary}</div>"
        "<div class='side'>"
        f"<div><h2>Live (version {answer.base.version})</h2>{gantt(board, answer.base, live=False, end=end)}</div>"
        f"<div><h2>What-if fork ({len(moved)} moved against the live plan, outlined)</h2>"
        f"{gantt(board, answer.plan, live=False, marks=marks, end=end)}</div></div>"
    )
