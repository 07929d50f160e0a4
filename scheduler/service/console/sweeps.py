"""Sweep results found under ``--sweeps-dir``: the ``results.json`` and
``pareto-throughput.svg`` that ``lean-scheduler sweep`` writes (read as files: the service
does not import the sweep package)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from scheduler.domain import InputError
from scheduler.service.console.backend import Backend
from scheduler.service.console.layout import page, table

_MOST = 100
"""Result folders listed."""
_SHOWN = ("throughput", "lead_time_mean", "wip_mean", "bottleneck_starvation")


def found(root: Path | None) -> list[Path]:
    """The result files below ``root``, in a stable order (what the page numbers)."""
    if root is None or not root.is_dir():
        return []
    return sorted(root.rglob("results.json"))[:_MOST]


async def index(backend: Backend, request: Request) -> Response:
    files = await backend.read(lambda: found(backend.sweeps_dir))
    if backend.sweeps_dir is None:
        body = "<p>No sweeps folder: start the server with <code>--sweeps-dir DIR</code> to list sweep results.</p>"
    elif not files:
        body = f"<p>No results.json under {escape(str(backend.sweeps_dir))}.</p>"
    else:
        assert backend.sweeps_dir is not None
        rows = [
            [f"<a href='/sweeps/{k}'>{escape(str(f.parent.relative_to(backend.sweeps_dir)))}</a>"]
            for k, f in enumerate(files)
        ]
        body = table(["sweep"], rows)
    return HTMLResponse(page("Sweeps", body))


def _file(backend: Backend, index: int) -> Path:
    files = found(backend.sweeps_dir)
    if not 0 <= index < len(files):
        raise InputError.single("sweep", f"no sweep number {index} (there are {len(files)})")
    return files[index]


async def one(backend: Backend, request: Request) -> Response:
    number = request.path_params["index"]

    def load() -> tuple[Path, dict[str, Any]]:
        path = _file(backend, number)
        try:
            return path, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError.single("sweep", f"cannot read {path.name}: {error}") from None

    path, results = await backend.read(load)
    rows = []
    for row in results.get("configurations", []):
        means = [_mean(row.get("kpis", {}).get(k)) for k in _SHOWN]
        name = escape(str(row.get("key", ""))) + (" (own)" if row.get("own") else "")
        score = row.get("score")
        rows.append(
            [
                str(row.get("rank", "")),
                name,
                str(row.get("replications", "")),
                "–" if score is None else f"{score:.4g}",
                *means,
            ]
        )
    plot = ""
    if (path.parent / "pareto-throughput.svg").exists():
        plot = f"<h2>Pareto front</h2><img alt='Pareto front' src='/sweeps/{number}/pareto.svg'>"
    body = table(["rank", "configuration", "runs", "score", *_SHOWN], rows) + plot
    return HTMLResponse(page(f"Sweep of {results.get('scenario', path.parent.name)}", body))


async def pareto(backend: Backend, request: Request) -> Response:
    path = await backend.read(lambda: _file(backend, request.path_params["index"]).parent / "pareto-throughput.svg")
    text = await backend.read(lambda: path.read_text(encoding="utf-8"))
    return Response(text, media_type="image/svg+xml", headers={"Content-Security-Policy": "script-src 'none'"})


def _mean(value: Any) -> str:
    return "–" if not isinstance(value, dict) or value.get("mean") is None else f"{value['mean']:.4g}"
