"""A sweep's plots as plain SVG (no plotting library): the Pareto front of mean WIP against
throughput and against lead time, and a heat map of the score when exactly two axes vary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

_W, _H, _PAD = 520, 360, 56


def pareto(rows: Sequence[Mapping[str, Any]], x: str, y: str, more_y_is_better: bool) -> str:
    """Every configuration at (mean ``x``, mean ``y``); the non-dominated ones (less ``x``,
    better ``y``) joined and labelled, the best ranked ringed."""
    points = [(r["kpis"][x]["mean"], r["kpis"][y]["mean"], r) for r in rows if r["kpis"][x] and r["kpis"][y]]
    if not points:
        return _empty(f"no runs measured both {x} and {y}")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    sx, sy = _scale(min(xs), max(xs), _PAD + 12, _W - 32), _scale(min(ys), max(ys), _H - _PAD - 12, 32)  # off the axes
    front = _front(points, more_y_is_better)
    parts = [_frame(f"{y} against {x}", x, y, (min(xs), max(xs)), (min(ys), max(ys)))]
    path = " ".join(f"{sx(px):.1f},{sy(py):.1f}" for px, py, _ in sorted(front, key=lambda p: p[0]))
    parts.append(f"<polyline points='{path}' fill='none' stroke='#d62728' stroke-width='1.5'/>")
    for px, py, row in points:
        on = any(row is f[2] for f in front)
        ring = " stroke='#000' stroke-width='2'" if row["rank"] == 1 else ""
        parts.append(f"<circle cx='{sx(px):.1f}' cy='{sy(py):.1f}' r='{5 if on else 3}' "
                     f"fill='{'#d62728' if on else '#1f77b4'}'{ring}><title>{escape(row['key'])} "
                     f"(rank {row['rank']}): {x} {px:.4g}, {y} {py:.4g}</title></circle>")  # fmt: skip
    return _svg(parts)


def heat_map(rows: Sequence[Mapping[str, Any]], axes: Sequence[str]) -> str:
    """The score of each pair of values of the two varying ``axes`` (darker: better)."""
    a, b = axes
    cols = sorted({r["parameters"][a] for r in rows}, key=str)
    lines = sorted({r["parameters"][b] for r in rows}, key=str)
    cell = {(r["parameters"][a], r["parameters"][b]): r for r in rows}
    scores = [r["score"] for r in rows if r["score"] is not None]
    low, high = (min(scores), max(scores)) if scores else (0.0, 1.0)
    w, h = (_W - _PAD - 20) / max(1, len(cols)), (_H - _PAD - 40) / max(1, len(lines))
    parts = [f"<text x='{_W / 2}' y='16' text-anchor='middle'>score by {escape(a)} and {escape(b)}</text>"]
    for i, va in enumerate(cols):
        parts.append(
            f"<text x='{_PAD + (i + 0.5) * w:.1f}' y='{_H - 24}' text-anchor='middle'>{escape(str(va))}</text>"
        )
        for j, vb in enumerate(lines):
            row = cell.get((va, vb))
            score = None if row is None else row["score"]
            shade = 0.0 if score is None or high == low else (high - score) / (high - low)
            fill = "#eee" if score is None else f"rgb({int(255 - 200 * shade)},{int(255 - 120 * shade)},255)"
            label = "-" if score is None else f"{score:.3g}"
            x, y = _PAD + i * w, 28 + j * h
            rect = f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' fill='{fill}' stroke='#fff'/>"
            parts.append(
                rect + f"<text x='{x + w / 2:.1f}' y='{y + h / 2 + 4:.1f}' text-anchor='middle'>{label}</text>"
            )
    for j, vb in enumerate(lines):
        parts.append(
            f"<text x='{_PAD - 6}' y='{28 + (j + 0.5) * h + 4:.1f}' text-anchor='end'>{escape(str(vb))}</text>"
        )
    parts.append(f"<text x='{_W / 2}' y='{_H - 6}' text-anchor='middle'>{escape(a)} (rows: {escape(b)})</text>")
    return _svg(parts)


def _front(points: list[tuple[float, float, Any]], more_y_is_better: bool) -> list[tuple[float, float, Any]]:
    sign = -1 if more_y_is_better else 1
    return [p for p in points if not any(q[0] <= p[0] and sign * q[1] <= sign * p[1] and (q[0], q[1]) != (p[0], p[1])
                                         for q in points)]  # fmt: skip


def _scale(low: float, high: float, a: float, b: float) -> Any:
    span = (high - low) or 1.0
    return lambda v: a + (v - low) / span * (b - a)


def _frame(title: str, x: str, y: str, xr: tuple[float, float], yr: tuple[float, float]) -> str:
    return (f"<text x='{_W / 2}' y='14' text-anchor='middle'>{escape(title)}</text>"
            f"<line x1='{_PAD}' y1='{_H - _PAD}' x2='{_W - 20}' y2='{_H - _PAD}' stroke='#444'/>"
            f"<line x1='{_PAD}' y1='20' x2='{_PAD}' y2='{_H - _PAD}' stroke='#444'/>"
            f"<text x='{_W / 2}' y='{_H - 14}' text-anchor='middle'>{escape(x)} ({xr[0]:.4g} to {xr[1]:.4g})</text>"
            f"<text x='14' y='{_H / 2}' transform='rotate(-90 14 {_H / 2})' text-anchor='middle'>"
            f"{escape(y)} ({yr[0]:.4g} to {yr[1]:.4g})</text>")  # fmt: skip


def _empty(message: str) -> str:
    return _svg([f"<text x='{_W / 2}' y='{_H / 2}' text-anchor='middle'>{escape(message)}</text>"])


def _svg(parts: list[str]) -> str:
    body = "".join(parts)
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' font-family='sans-serif' "
            f"font-size='11'><rect width='100%' height='100%' fill='#fff'/>{body}</svg>\n")  # fmt: skip
