"""Line state: realised against planned KPIs, small time-series charts, the takt monitor
per station, the rules' firings and revisions."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from scheduler.engine import PlanBook
from scheduler.service.console.backend import Backend
from scheduler.service.console.layout import page, table

_POINTS = 24
"""Buckets before now and after it in each chart."""
_W, _H = 260, 70
_KPIS = (
    "completed",
    "throughput",
    "takt",
    "takt_adherence",
    "lead_time_mean",
    "waiting_mean",
    "bottleneck_utilisation",
    "bottleneck_starvation",
    "blocking",
    "schedule_adherence",
)


async def state(backend: Backend, request: Request) -> Response:
    plan_id = request.path_params["plan_id"]
    body = await backend.read(lambda: _body(backend.book, plan_id))
    return HTMLResponse(page(f"Line state of {plan_id}", body, plan_id))


def _body(book: PlanBook, plan_id: str) -> str:
    line = book.line_state(plan_id)
    series = book.series(plan_id, _POINTS)
    columns = [("realised", line.realised), ("first plan", line.baseline), ("planned next", line.planned)]
    kept = [(name, k) for name, k in columns if k is not None]
    rows = [[escape(n)] + [_number(getattr(k, n)) for _, k in kept] for n in _KPIS]
    buffers = sorted(line.planned.wip_mean)
    rows += [[f"WIP mean {escape(b)}"] + [_number(k.wip_mean.get(b)) for _, k in kept] for b in buffers]
    head = (
        f"<p class='sub'>now {line.now}; realised over [{line.window[0]}, {line.window[1]}), planned over "
        f"[{line.planned.start}, {line.planned.end}); charts: {series.bucket} ticks a point, solid realised, "
        "dashed planned</p>"
    )
    charts = [
        _spark(
            f"WIP {b}",
            [k.wip_mean.get(b, 0.0) for k in series.realised],
            [k.wip_mean.get(b, 0.0) for k in series.planned],
        )
        for b in buffers
    ]
    takt = line.planned.takt or line.realised.takt
    charts.append(
        _spark(
            "throughput (jobs/tick) vs takt",
            [k.throughput for k in series.realised],
            [k.throughput for k in series.planned],
            1 / takt if takt else None,
        )
    )
    charts.append(
        _spark(
            "drum starvation",
            [k.bottleneck_starvation or 0.0 for k in series.realised],
            [k.bottleneck_starvation or 0.0 for k in series.planned],
        )
    )
    return (
        head
        + table(["KPI", *(n for n, _ in kept)], rows)
        + "<h2>Over time</h2><div id='charts'>"
        + "".join(charts)
        + "</div>"
        + "<h2>Takt monitor</h2>"
        + _monitor(line.watched)
        + "<h2>Rule firings</h2>"
        + _firings(line.firings)
        + "<h2>Revisions</h2>"
        + _revisions(line.revisions)
    )


def _number(value: object) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if isinstance(value, float) else escape(str(value))


def _spark(title: str, before: Sequence[float], after: Sequence[float], reference: float | None = None) -> str:
    """A small line chart: the realised points, then the planned ones (dashed), now between."""
    values = [*before, *after, *([reference] if reference is not None else [])]
    top = max([1e-9, *values])
    count = max(1, len(before) + len(after) - 1)

    def points(seq: Sequence[float], offset: int) -> str:
        return " ".join(
            f"{(offset + k) * _W / count:.1f},{_H - 4 - v / top * (_H - 16):.1f}" for k, v in enumerate(seq)
        )

    parts = [
        f"<svg width='{_W}' height='{_H}' style='background:#fafafa'>",
        f"<text x='2' y='10'>{escape(title)} (max {max([0.0, *values]):.3g})</text>",
    ]
    if before:
        parts.append(f"<polyline fill='none' stroke='#4e79a7' stroke-width='1.5' points='{points(before, 0)}'/>")
    if after:
        parts.append(
            f"<polyline fill='none' stroke='#f28e2b' stroke-width='1.5' stroke-dasharray='3 2' "
            f"points='{points(after, len(before))}'/>"
        )
    if reference is not None:
        y = _H - 4 - reference / top * (_H - 16)
        parts.append(f"<line x1='0' x2='{_W}' y1='{y:.1f}' y2='{y:.1f}' stroke='#999'><title>takt</title></line>")
    return f"<div class='spark'>{''.join(parts)}</svg></div>"


def _monitor(watched: object) -> str:
    stations = getattr(watched, "stations", {})
    silent = getattr(watched, "silent", {})
    rows = [
        [
            escape(s.station),
            f"{s.factor:.2f}",
            str(s.completions),
            _number(s.last_end),
            f"{s.cusum_up:.2f}",
            f"{s.cusum_down:.2f}",
            "silent" if s.station in silent else ("off takt" if abs(s.factor - 1) > 1e-9 else "ok"),
        ]
        for s in stations.values()
    ]
    head = ["station", "factor", "completions", "last end", "CUSUM up", "CUSUM down", "state"]
    return table(head, rows) if rows else "<p>No completions reported yet.</p>"


def _firings(firings: Sequence[dict[str, object]]) -> str:
    if not firings:
        return "<p>No rule has fired.</p>"
    keys = sorted({k for f in firings for k in f})[:8]
    return table(keys, [[_number(f.get(k)) for k in keys] for f in firings])


def _revisions(revisions: Sequence[object]) -> str:
    if not revisions:
        return "<p>No revisions.</p>"
    rows = [
        [escape(getattr(e, "event_id", "")), escape(getattr(e, "type", "")), str(getattr(e, "time", ""))]
        for e in revisions
    ]
    return table(["event", "type", "time"], rows)
