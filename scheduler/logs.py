"""Structured logs on stdlib ``logging``: per-call fields bound in a context variable, added
to every record, written as text in a terminal or as one JSON object a line.

Stdlib only, so every layer may bind fields (the engine binds the event it is taking) and
the CLI configures it without loading the service.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Literal, TextIO

FIELDS = ("plan_id", "event_id", "source", "version")
"""The fields a call binds; a record carries those bound where it was logged."""
LogFormat = Literal["text", "json"]

_BOUND: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar(
    "lean_scheduler_log_fields", default=MappingProxyType({})
)
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


@contextlib.contextmanager
def bound(**fields: object) -> Iterator[None]:
    """Add ``fields`` (None: left out) to every record logged inside, in this context."""
    token = _BOUND.set({**_BOUND.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _BOUND.reset(token)


def current() -> dict[str, object]:
    """The fields bound here: to pass as ``extra`` from threads the context does not reach
    (CP-SAT calls its log callback from its own workers)."""
    return dict(_BOUND.get())


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record (an ``extra`` given at the call wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _BOUND.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def extras(record: logging.LogRecord) -> dict[str, object]:
    """What a record carries beyond the standard attributes: the bound fields, ``extra``."""
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the bound
    fields and any ``extra``, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **extras(record),
        }
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    """The usual text line, then the bound fields as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in extras(record).items())
        head, newline, tail = line.partition("\n")  # fields before a traceback, on the message's line
        return f"{head} [{fields}]{newline}{tail}" if fields else line


def handler(fmt: LogFormat = "text", stream: TextIO | None = None) -> logging.Handler:
    """A handler writing ``fmt`` lines to ``stream`` (stderr), with the bound fields."""
    made = logging.StreamHandler(stream or sys.stderr)
    made.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    made.addFilter(ContextFilter())
    return made


def configure(fmt: LogFormat = "text", level: str = "INFO") -> None:
    """Log to stderr in ``fmt`` at ``level``; like ``logging.basicConfig``, nothing changes
    in a process that set up its logging already (an embedding application, pytest)."""
    logging.basicConfig(level=level, handlers=[handler(fmt)])
