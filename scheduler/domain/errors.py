"""Validation problems that name the field and the value.

Cross-reference checks (unknown ids, cycles, coverage) run in model validators, where
pydantic reports the location of the model only. They raise :func:`invalid`, whose
context carries the field path relative to that model, so :func:`field_problems` can
give the full path for every error, pydantic's own and ours alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

_MAX_VALUE_CHARS = 60

UNION_TAGS: set[str] = set()
"""Tags of discriminated unions (event types): pydantic puts them in error locations."""


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: its dotted path (``orders[3].operations[1].station``) and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InputError(Exception):
    """Input that cannot be accepted; carries every problem found."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = problems
        super().__init__(problems)  # args rebuild it whole: pickled to a sweep worker, re-raised by SimPy

    def __str__(self) -> str:
        return self.summary()

    @classmethod
    def single(cls, field: str, message: str) -> InputError:
        return cls([FieldProblem(field, message)])

    @classmethod
    def from_custom(cls, error: PydanticCustomError, default_field: str = "") -> InputError:
        """The problem an :func:`invalid` error raised outside pydantic's own validation."""
        context = error.context or {}
        return cls.single(str(context.get("field", default_field)), str(context.get("message", error)))

    def summary(self) -> str:
        """One line: the first problem, and how many more there are."""
        first = str(self.problems[0]) if self.problems else "invalid input"
        more = len(self.problems) - 1
        return first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def invalid(field: str, message: str) -> PydanticCustomError:
    """An error for a model validator; ``field`` is relative to the validated model."""
    return PydanticCustomError("invalid_field", "{message}", {"field": field, "message": message})


def show(value: object) -> str:
    """A short repr of a value for an error message."""
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def join_path(*parts: str | int) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part:
            path += f".{part}" if path and not part.startswith("[") else part
    return path


def field_problems(error: ValidationError, prefix: str = "") -> list[FieldProblem]:
    """Flatten a pydantic ValidationError into field problems with full paths."""
    problems = []
    for item in error.errors(include_url=False):
        ctx = item.get("ctx") or {}
        loc = [p for p in item["loc"] if isinstance(p, int) or not _is_schema_tag(p)]
        relative = ctx.get("field", "")
        path = join_path(prefix, *loc, *([relative] if relative else []))
        if item["type"] == "invalid_field":
            message = str(ctx["message"])
        elif item["type"] == "time":
            message = item["msg"]
        elif item["type"] == "missing":
            message = "is required"
        elif item["type"] == "extra_forbidden":
            message = "is not a known field"
        else:
            message = f"{item['msg']} (got {show(item.get('input'))})"
        problems.append(FieldProblem(path, message))
    return problems


def _is_schema_tag(part: str) -> bool:
    # Union branches and validator wrappers show up in locations as tags like
    # "function-after[...]" or "int"; they are not field names.
    return "[" in part or part in UNION_TAGS or part in {"int", "str", "float", "bool", "list", "dict", "none"}
