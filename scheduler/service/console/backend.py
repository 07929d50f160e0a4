"""What the console pages work with (one object, handed to every page)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from scheduler.domain import InputError
from scheduler.engine import PlanBook


@dataclass
class Backend:
    """What the console works with: the server's plans, its admission for solves, its pool
    for reads, its token (None: open), the folder of sweep results."""

    book: PlanBook
    admit: Callable[[Callable[[], Any], str | None], Awaitable[Any]]
    read: Callable[[Callable[[], Any]], Awaitable[Any]]
    token: str | None = None
    sweeps_dir: Path | None = None
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the server stops: live streams end."""


_MAX_FORM = 64 * 1024


async def form_fields(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the first of each name); no multipart, so no extra library."""
    body = await request.body()
    if len(body) > _MAX_FORM:
        raise InputError.single("form", f"over {_MAX_FORM} bytes")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}
