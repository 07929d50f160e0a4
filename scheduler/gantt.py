"""Self-contained HTML Gantt charts: machines as rows, orders coloured by family,
unavailability shaded, hover details (SVG titles), no scripts or external files."""

from __future__ import annotations

from html import escape

from scheduler.problem import ProblemData, Timetable

_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
_ROW, _LABEL, _WIDTH, _AXIS = 22, 150, 1100, 24

_STYLE = """
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; } h2 { font-size: 15px; margin: 18px 0 4px; }
.sub { color: #555; margin: 0 0 6px; }
svg text { font-size: 11px; }
rect.op { stroke: #fff; stroke-width: 0.5; }
rect.op:hover { stroke: #000; stroke-width: 1.5; }
rect.down { fill: url(#hatch); stroke: #999; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -2px; }
"""


def render_gantt(panels: list[tuple[str, ProblemData, Timetable]], title: str) -> str:
    """An HTML page with one chart per (heading, problem, timetable) panel on a shared time
    axis; each panel shades its own problem's unavailability (a plan before an event does
    not show the downtime the event brought)."""
    families = sorted({f for _, problem, _ in panels for f in problem.job_family})
    colour = {f: _PALETTE[k % len(_PALETTE)] for k, f in enumerate(families)}
    end = max(
        [1, *(max(t.end, default=0) for _, _, t in panels)]
        + [w[-1][1] for _, problem, _ in panels for w in problem.unavailability if w]
    )
    legend = "".join(f'<span><i style="background:{colour[f]}"></i>{escape(f)}</span>' for f in families)
    legend += '<span><i style="background:#ddd;border:1px solid #999"></i>unavailable</span>'
    body = "".join(_panel(problem, heading, t, end, colour) for heading, problem, t in panels)
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p class='sub'>time unit: {escape(panels[0][1].time_unit)} &middot; hover a bar for details</p>"
        f"<div class='legend'>{legend}</div>{body}</body></html>\n"
    )


def _panel(problem: ProblemData, heading: str, t: Timetable, end: int, colour: dict[str, str]) -> str:
    scale = _WIDTH / end
    rows = sorted(range(len(problem.machine_ids)), key=lambda m: (problem.machine_station[m], m))
    y_of = {m: _AXIS + k * _ROW for k, m in enumerate(rows)}
    height = _AXIS + len(rows) * _ROW + 4
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_LABEL + _WIDTH + 20}' height='{height}'>",
        "<defs><pattern id='hatch' width='6' height='6' patternUnits='userSpaceOnUse' "
        "patternTransform='rotate(45)'><rect width='6' height='6' fill='#eee'/>"
        "<line x1='0' y1='0' x2='0' y2='6' stroke='#aaa' stroke-width='2'/></pattern></defs>",
    ]
    step = _nice_step(end)
    for tick in range(0, end + 1, step):
        x = _LABEL + tick * scale
        parts.append(f"<line x1='{x:.1f}' y1='{_AXIS - 4}' x2='{x:.1f}' y2='{height}' stroke='#eee'/>")
        parts.append(f"<text x='{x:.1f}' y='{_AXIS - 8}' text-anchor='middle'>{tick}</text>")
    for m in rows:
        y = y_of[m]
        label = f"{problem.station_ids[problem.machine_station[m]]} / {problem.machine_ids[m]}"
        if problem.station_ids[problem.machine_station[m]] == problem.machine_ids[m]:
            label = problem.machine_ids[m]
        marker = " ★" if problem.machine_station[m] == problem.bottleneck_idx else ""
        parts.append(f"<text x='4' y='{y + 15}'>{escape(label)}{marker}</text>")
        for a, b in problem.unavailability[m]:
            parts.append(
                f"<rect class='down' x='{_LABEL + a * scale:.1f}' y='{y + 2}' width='{max(1.0, (b - a) * scale):.1f}' "
                f"height='{_ROW - 4}'><title>{escape(problem.machine_ids[m])} unavailable [{a}, {b})</title></rect>"
            )
    for i in range(problem.num_ops):
        j = problem.op_job[i]
        s, e, m = t.start[i], t.end[i], t.machine[i]
        due = problem.job_due[j]
        tip = (
            f"{problem.op_ids[i]} (order {problem.job_ids[j]}, family {problem.job_family[j]})\n"
            f"{problem.machine_ids[m]}: {s} to {e} ({e - s})" + (f"\ndue {due}" if due is not None else "")
        )
        x, w = _LABEL + s * scale, max(1.0, (e - s) * scale)
        parts.append(
            f"<rect class='op' x='{x:.1f}' y='{y_of[m] + 2}' width='{w:.1f}' height='{_ROW - 4}' "
            f"fill='{colour[problem.job_family[j]]}'><title>{escape(tip)}</title></rect>"
        )
        if w > 7 * len(problem.job_ids[j]) + 6:
            parts.append(
                f"<text x='{x + 2:.1f}' y='{y_of[m] + 15}' fill='#fff' pointer-events='none'>"
                f"{escape(problem.job_ids[j])}</text>"
            )
    parts.append("</svg>")
    return f"<h2>{escape(heading)}</h2>" + "".join(parts)


def _nice_step(end: int) -> int:
    raw = max(1, end // 12)
    magnitude = int(10 ** (len(str(raw)) - 1))
    return next(k * magnitude for k in (1, 2, 5, 10) if k * magnitude >= raw)
