"""The console's page frame, styles and small shared pieces."""

from __future__ import annotations

from html import escape

from scheduler.domain import InputError
from scheduler.gantt import STYLE as GANTT_STYLE

STYLE = (
    GANTT_STYLE
    + """
nav { margin-bottom: 10px; } nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; font-size: 12px; }
tr.receipt { cursor: pointer; } tr.receipt:hover { background: #f3f6fb; }
.error { color: #b00; font-weight: 600; }
.ok { color: #070; }
.gantt { overflow-x: auto; }
.side { display: flex; gap: 12px; flex-wrap: wrap; }
.spark { display: inline-block; margin: 0 16px 8px 0; vertical-align: top; }
.spark svg text { font-size: 10px; }
form label { display: inline-block; min-width: 150px; }
form input { width: 90px; }
"""
)


def page(title: str, body: str, plan_id: str | None = None, script: str = "") -> str:
    """A whole page: the frame, navigation and ``body``; ``script`` is inline, no libraries."""
    links = "<a href='/'>Plans</a><a href='/sweeps'>Sweeps</a>"
    if plan_id is not None:
        pid = escape(plan_id)
        links += (
            f"<a href='/plans/{pid}'>Gantt &amp; receipts</a><a href='/plans/{pid}/line'>Line state</a>"
            f"<a href='/plans/{pid}/whatif'>What-if</a>"
        )
    tail = f"<script>{script}</script>" if script else ""
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><nav>{links}</nav><h1>{escape(title)}</h1>{body}{tail}"
        "</body></html>\n"
    )


def problem_list(error: InputError) -> str:
    """A refusal naming each field, as a fragment (the what-if form shows it in place)."""
    items = "".join(f"<li><b>{escape(p.field)}</b>: {escape(p.message)}</li>" for p in error.problems)
    return f"<div class='error' id='problems'>refused:<ul>{items}</ul></div>"


def table(head: list[str], rows: list[list[str]], row_attrs: list[str] | None = None) -> str:
    """Cells are HTML already (escape them before)."""
    attrs = row_attrs or [""] * len(rows)
    body = "".join(
        f"<tr{a}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row, a in zip(rows, attrs, strict=True)
    )
    return (
        "<table><thead><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + f"</tr></thead><tbody>{body}</tbody></table>"
    )
