"""The plan list, a plan's live Gantt with its receipts, one version against the one
before, and the login form."""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from scheduler.engine import PlanBook, Summary, Version
from scheduler.engine.board import Board
from scheduler.gantt import Overlay, chart, chart_end, family_colours, legend, row_bars
from scheduler.service.console.backend import Backend
from scheduler.service.console.layout import page, table

_RECEIPTS = 200
"""The newest receipts a plan page lists."""

LIVE_SCRIPT = """
const live = document.getElementById('live');
const stream = new EventSource(location.pathname + '/stream');
stream.addEventListener('version', async (e) => {
  const answer = await fetch(location.pathname + '/live', {credentials: 'same-origin'});
  if (answer.ok) { live.innerHTML = await answer.text(); live.dataset.version = e.data; }
});
document.addEventListener('click', (e) => {
  const row = e.target.closest('tr.receipt');
  if (row && row.dataset.href) location.href = row.dataset.href;
});
window.consoleRendered = performance.now();
"""


async def plans(backend: Backend, request: Request) -> Response:
    rows = await backend.read(lambda: [_plan_row(backend.book, s) for s in backend.book.summaries()])
    body = table(["plan", "name", "version", "makespan", "late orders", "monitor alerts", "now"], rows)
    return HTMLResponse(page("Plans", body if rows else "<p>No plans yet.</p>" + body))


def _plan_row(book: PlanBook, summary: Summary) -> list[str]:
    plan_id = summary.plan_id
    pid = escape(plan_id)
    if summary.latest is None:
        return [pid, "", "", "", "", escape(f"damaged: {summary.damaged}"), ""]
    latest, watched = summary.latest, book.line_state(plan_id).watched
    off = [s for s in watched.stations.values() if abs(s.factor - 1) > 1e-9]
    alerts = ", ".join(f"{escape(s.station)} ×{s.factor:.2f}" for s in off) or "none"
    return [
        f"<a href='/plans/{pid}'>{pid}</a>",
        escape(summary.name),
        str(latest.version),
        str(latest.kpis.makespan),
        str(latest.kpis.late_orders),
        alerts,
        str(latest.now),
    ]


async def plan(backend: Backend, request: Request) -> Response:
    plan_id = request.path_params["plan_id"]
    fragment = await backend.read(lambda: live(backend.book, plan_id))
    body = f"<div id='live'>{fragment}</div>"
    return HTMLResponse(page(f"Plan {plan_id}", body, plan_id, LIVE_SCRIPT))


async def live_fragment(backend: Backend, request: Request) -> Response:
    plan_id = request.path_params["plan_id"]
    return HTMLResponse(await backend.read(lambda: live(backend.book, plan_id)))


def live(book: PlanBook, plan_id: str) -> str:
    """The latest version's Gantt and the receipts: what the stream re-renders in place."""
    latest = book.get(plan_id)
    board = book.board(plan_id)
    head = (
        f"<p class='sub' id='head' data-version='{latest.version}'>version {latest.version} &middot; now "
        f"{board.now} &middot; makespan {latest.kpis.makespan} &middot; late orders {latest.kpis.late_orders} "
        f"&middot; time unit {escape(board.problem.time_unit)} &middot; hover a bar for details</p>"
    )
    return head + gantt(board, latest, live=True) + "<h2>Receipts</h2>" + receipts(book, plan_id)


def gantt(board: Board, version: Version, live: bool, marks: Overlay | None = None, end: int = 0) -> str:
    """A version drawn on the problem at now: frozen work and facts marked when ``live``, now
    always, and ``marks``' moved operations and extra downtimes."""
    bars = row_bars(board.problem, version.plan)
    extra = marks or Overlay()
    overlay = Overlay(now=version.now, frozen=board.frozen if live else frozenset(),
                      actual=board.actual if live else {}, moved=extra.moved, down=extra.down)  # fmt: skip
    colour = family_colours([board.problem])
    svg = chart(board.problem, bars, end or chart_end([(board.problem, bars)]), colour, overlay)
    return legend(colour, live=True) + f"<div class='gantt' data-ops='{len(bars)}'>{svg}</div>"


def receipts(book: PlanBook, plan_id: str) -> str:
    """One row per event taken, newest first; a click opens the version it made."""
    records = book.store.log(plan_id)[-_RECEIPTS:]
    rows, attrs = [], []
    for record in reversed(records):
        r = json.loads(record.receipt)
        kind = json.loads(record.event).get("type", "")
        change = r["makespan_after"] - r["makespan_before"]
        rows.append(
            [
                str(record.position),
                escape(record.event_id),
                escape(kind),
                escape(r["tier"]),
                escape(r["solver_status"]),
                f"{r['latency_ms']:.1f}",
                str(r["moved_operations"]),
                f"{change:+d}",
                escape("; ".join(r.get("warnings", ())) or ""),
                str(record.version),
            ]
        )
        attrs.append(
            f" class='receipt' data-version='{record.version}' "
            f"data-href='/plans/{escape(plan_id)}/versions/{record.version}'"
        )
    head = ["#", "event", "type", "tier", "solver", "latency ms", "moved", "makespan Δ", "warnings", "version"]
    return table(head, rows, attrs) if rows else "<p>No events yet.</p>"


async def version(backend: Backend, request: Request) -> Response:
    plan_id, number = request.path_params["plan_id"], request.path_params["version"]
    body = await backend.read(lambda: _version_body(backend.book, plan_id, number))
    return HTMLResponse(page(f"Plan {plan_id}, version {number}", body, plan_id))


def _version_body(book: PlanBook, plan_id: str, number: int) -> str:
    this = book.get(plan_id, number)
    before = book.get(plan_id, number - 1) if number > 1 else None
    board = book.board(plan_id)
    moved = diff(before, this) if before is not None else []
    receipt = this.receipt
    said = (
        ""
        if receipt is None
        else (
            f"made by {escape(receipt.event_id)}: tier {escape(receipt.tier)}, {escape(receipt.solver_status)}, "
            f"{receipt.latency_ms:.1f} ms"
        )
    )
    head = (
        f"<p class='sub' id='version' data-version='{this.version}'>version {this.version} &middot; now "
        f"{this.now} &middot; makespan {this.kpis.makespan} &middot; {said}</p>"
    )
    chart_html = gantt(board, this, live=False, marks=Overlay(moved=frozenset(op for op, *_ in moved)))
    if before is None:
        return head + chart_html + "<p>The first version: nothing to compare with.</p>"
    shift = sum(abs(s2 - s1) for _, _, _, s1, s2 in moved)
    summary = (
        f"<p id='diff' data-moved='{len(moved)}'>against version {before.version}: {len(moved)} operation(s) "
        f"moved, total |shift| {shift}, makespan {this.kpis.makespan - before.kpis.makespan:+d}</p>"
    )
    rows = [
        [escape(op), escape(m1), escape(m2), str(s1), str(s2), f"{s2 - s1:+d}"] for op, m1, m2, s1, s2 in moved[:100]
    ]
    return (
        head
        + chart_html
        + summary
        + table(["operation", "machine before", "after", "start before", "after", "shift"], rows)
    )


def diff(before: Version, after: Version) -> list[tuple[str, str, str, int, int]]:
    """Operations whose machine or start changed: (op, machine before, after, start before, after)."""
    moved = []
    for op, (m2, s2, _) in after.plan.items():
        if op in before.plan and (before.plan[op][0], before.plan[op][1]) != (m2, s2):
            moved.append((op, before.plan[op][0], m2, before.plan[op][1], s2))
    return sorted(moved, key=lambda row: row[3])


def login(target: str, message: str) -> str:
    error = f"<p class='error'>{escape(message)}</p>" if message else ""
    form = (
        f"<form method='post' action='/login?next={escape(quote(target))}'><label for='token'>Token</label>"
        "<input id='token' name='token' type='password' style='width:240px' autofocus> "
        "<button type='submit'>Sign in</button></form>"
    )
    return page("Sign in", error + "<p>This server needs its access token.</p>" + form)
