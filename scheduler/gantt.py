"""HTML Gantt charts: machines as rows, orders coloured by family, unavailability shaded,
hover details (SVG titles), no scripts or external files. The same charts serve the CLI's
static pages and the web console, which adds an :class:`Overlay` (now, frozen work,
actual against planned, moved operations)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from scheduler.problem import Position, ProblemData, Timetable

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

STYLE = """
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; } h2 { font-size: 15px; margin: 18px 0 4px; }
.sub { color: #555; margin: 0 0 6px; }
svg text { font-size: 11px; }
rect.op { stroke: #fff; stroke-width: 0.5; }
rect.op:hover { stroke: #000; stroke-width: 1.5; }
rect.op.frozen { opacity: 0.45; }
rect.op.moved { stroke: #d00; stroke-width: 1.5; }
rect.actual { fill: none; stroke: #111; stroke-dasharray: 3 2; }
rect.down { fill: url(#hatch); stroke: #999; }
line.now { stroke: #d00; stroke-width: 1.5; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -2px; }
"""

Bar = tuple[int, int, int, int]
"""(operation index, machine index, start, end)."""


@dataclass(frozen=True)
class Overlay:
    """What a live chart marks beside the plan."""

    now: int | None = None
    frozen: frozenset[str] = frozenset()
    """Operations done or running at now: they never move."""
    actual: Mapping[str, tuple[int, int | None]] = field(default_factory=dict)
    """Reported (start, end or None while running) per operation, drawn over the plan's bar."""
    moved: frozenset[str] = frozenset()
    """Operations that moved against the version before (a diff)."""
    down: tuple[tuple[str, int, int], ...] = ()
    """(machine id, start, end) windows shaded beside the problem's own (a what-if's downtime)."""


def render_gantt(panels: list[tuple[str, ProblemData, Timetable]], title: str) -> str:
    """An HTML page with one chart per (heading, problem, timetable) panel on a shared time
    axis; each panel shades its own problem's unavailability (a plan before an event does
    not show the downtime the event brought)."""
    colour = family_colours([problem for _, problem, _ in panels])
    end = chart_end([(problem, timetable_bars(t)) for _, problem, t in panels])
    body = "".join(
        f"<h2>{escape(heading)}</h2>" + chart(problem, timetable_bars(t), end, colour) for heading, problem, t in panels
    )
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p class='sub'>time unit: {escape(panels[0][1].time_unit)} &middot; hover a bar for details</p>"
        f"{legend(colour)}{body}</body></html>\n"
    )


def family_colours(problems: Iterable[ProblemData]) -> dict[str, str]:
    families = sorted({f for problem in problems for f in problem.job_family})
    return {f: _PALETTE[k % len(_PALETTE)] for k, f in enumerate(families)}


def legend(colour: Mapping[str, str], live: bool = False) -> str:
    items = "".join(f'<span><i style="background:{c}"></i>{escape(f)}</span>' for f, c in colour.items())
    items += '<span><i style="background:#ddd;border:1px solid #999"></i>unavailable</span>'
    if live:
        items += (
            '<span><i style="background:#888;opacity:.45"></i>frozen</span>'
            '<span><i style="border:1px dashed #111"></i>actual</span>'
            '<span><i style="background:#d00;width:2px"></i>now</span>'
            '<span><i style="border:2px solid #d00"></i>moved</span>'
        )
    return f"<div class='legend'>{items}</div>"


def timetable_bars(t: Timetable) -> list[Bar]:
    return [(i, t.machine[i], t.start[i], t.end[i]) for i in range(len(t.start))]


def row_bars(problem: ProblemData, rows: Mapping[str, Position]) -> list[Bar]:
    """A plan's rows as bars, for the operations ``problem`` has (a version made before a
    rush order lacks its operations)."""
    return [
        (problem.op_index[op], problem.machine_index[m], s, e)
        for op, (m, s, e) in rows.items()
        if op in problem.op_index and m in problem.machine_index
    ]


def chart_end(charts: Iterable[tuple[ProblemData, Sequence[Bar]]]) -> int:
    """The time axis's end shared by charts drawn side by side."""
    ends = [1]
    for problem, bars in charts:
        ends += [e for _, _, _, e in bars] + [w[-1][1] for w in problem.unavailability if w]
    return max(ends)


def chart(
    problem: ProblemData, bars: Sequence[Bar], end: int, colour: Mapping[str, str], overlay: Overlay | None = None
) -> str:
    """One SVG chart; each bar carries its operation id as ``data-op``."""
    scale = _WIDTH / end
    rows = sorted(range(len(problem.machine_ids)), key=lambda m: (problem.machine_station[m], m))
    y_of = {m: _AXIS + k * _ROW for k, m in enumerate(rows)}
    height = _AXIS + len(rows) * _ROW + 4
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_LABEL + _WIDTH + 20}' height='{height}'>",
        "<defs><pattern id='hatch' width='6' height='6' patternUnits='userSpaceOnUse' "
        "patternTransform='rotate(45)'><rect width='6' height='6' fill='#eee'/>"
        "<line x1='0' y1='0' x2='0' y2='6' stroke='#aaa' stroke-width='2'/></pattern></defs>",
        *_axis(end, scale, height),
        *_rows(problem, rows, y_of, scale),
    ]
    marks = overlay or Overlay()
    for machine, a, b in marks.down:
        y = y_of[problem.machine_index[machine]]
        parts.append(
            f"<rect class='down' x='{_LABEL + a * scale:.1f}' y='{y + 2}' width='{max(1.0, (b - a) * scale):.1f}' "
            f"height='{_ROW - 4}'><title>{escape(machine)} down [{a}, {b}) (what-if)</title></rect>"
        )
    for bar in bars:
        parts += _bar(problem, bar, y_of, scale, colour, marks)
    if marks.now is not None:
        x = _LABEL + marks.now * scale
        parts.append(f"<line class='now' x1='{x:.1f}' y1='{_AXIS - 4}' x2='{x:.1f}' y2='{height}'>"
                     f"<title>now: {marks.now}</title></line>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _axis(end: int, scale: float, height: int) -> list[str]:
    parts = []
    for tick in range(0, end + 1, _nice_step(end)):
        x = _LABEL + tick * scale
        parts.append(f"<line x1='{x:.1f}' y1='{_AXIS - 4}' x2='{x:.1f}' y2='{height}' stroke='#eee'/>")
        parts.append(f"<text x='{x:.1f}' y='{_AXIS - 8}' text-anchor='middle'>{tick}</text>")
    return parts


def _rows(problem: ProblemData, rows: list[int], y_of: dict[int, int], scale: float) -> list[str]:
    """Machine labels (the drum starred) and their unavailability, shaded."""
    parts = []
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
    return parts


def _bar(
    problem: ProblemData, bar: Bar, y_of: dict[int, int], scale: float, colour: Mapping[str, str], marks: Overlay
) -> list[str]:
    i, m, s, e = bar
    j, op = problem.op_job[i], problem.op_ids[i]
    due = problem.job_due[j]
    tip = (
        f"{op} (order {problem.job_ids[j]}, family {problem.job_family[j]})\n"
        f"{problem.machine_ids[m]}: {s} to {e} ({e - s})" + (f"\ndue {due}" if due is not None else "")
    )
    actual = marks.actual.get(op)
    if actual is not None:
        tip += f"\nactual: {actual[0]} to {'running' if actual[1] is None else actual[1]}"
    classes = "op" + (" frozen" if op in marks.frozen else "") + (" moved" if op in marks.moved else "")
    x, w = _LABEL + s * scale, max(1.0, (e - s) * scale)
    parts = [
        f"<rect class='{classes}' data-op='{escape(op)}' x='{x:.1f}' y='{y_of[m] + 2}' width='{w:.1f}' "
        f"height='{_ROW - 4}' fill='{colour[problem.job_family[j]]}'><title>{escape(tip)}</title></rect>"
    ]
    if w > 7 * len(problem.job_ids[j]) + 6:
        parts.append(
            f"<text x='{x + 2:.1f}' y='{y_of[m] + 15}' fill='#fff' pointer-events='none'>"
            f"{escape(problem.job_ids[j])}</text>"
        )
    if actual is not None:
        a_end = actual[1] if actual[1] is not None else max(marks.now or actual[0], actual[0] + 1)
        parts.append(
            f"<rect class='actual' x='{_LABEL + actual[0] * scale:.1f}' y='{y_of[m] + 1}' "
            f"width='{max(1.0, (a_end - actual[0]) * scale):.1f}' height='{_ROW - 2}' pointer-events='none'/>"
        )
    return parts


def _nice_step(end: int) -> int:
    raw = max(1, end // 12)
    magnitude = int(10 ** (len(str(raw)) - 1))
    return next(k * magnitude for k in (1, 2, 5, 10) if k * magnitude >= raw)
