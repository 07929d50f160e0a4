"""Reading scenario and plan files (YAML or JSON) into validated domain objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from scheduler.domain.documents import DEFAULT_LIMITS, DocumentLimits, check_size, parse_document
from scheduler.domain.errors import InputError, field_problems
from scheduler.domain.events import Event, EventScript
from scheduler.domain.scenario import Scenario, load_schedule
from scheduler.domain.schedule import Schedule
from scheduler.domain.state import RepairState
from scheduler.domain.timebase import use_timebase

_DERIVED = frozenset({"start_time", "end_time"})


def read_data(path: Path, limits: DocumentLimits = DEFAULT_LIMITS) -> Any:
    """Parsed YAML or JSON (by suffix; YAML otherwise, a superset of JSON), within ``limits``."""
    try:
        check_size(path.stat().st_size, str(path), limits)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single(str(path), "no such file") from None
    except IsADirectoryError:
        raise InputError.single(str(path), "is a directory, not a file") from None
    except UnicodeDecodeError:
        raise InputError.single(str(path), "is not UTF-8 text") from None
    except OSError as error:
        raise InputError.single(str(path), f"cannot read: {error.strerror}") from None
    return parse_document(text, "json" if path.suffix.lower() == ".json" else "yaml", str(path), limits)


def load_scenario(path: Path) -> Scenario:
    data = read_data(path)
    if not isinstance(data, dict):
        raise InputError.single(str(path), f"a scenario must be a mapping, got {type(data).__name__}")
    return parse_scenario(data)


def parse_scenario(data: Any) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise InputError(field_problems(error)) from None


def load_rules(path: Path, scenario: Scenario) -> Scenario:
    """``scenario`` with the rules of a rules file (``{rules: [...]}``) in place of its own,
    validated with the scenario's schema (errors name ``rules[i]...``)."""
    data = read_data(path)
    if not isinstance(data, dict) or set(data) != {"rules"}:
        raise InputError.single(str(path), "a rules file is a mapping with one key, rules")
    return parse_scenario({**scenario.model_dump(mode="json", exclude_none=True), "rules": data["rules"]})


def load_events(path: Path, scenario: Scenario) -> list[Event]:
    """An event file: ``{events: [...]}`` or a bare list, validated against ``scenario``."""
    data = read_data(path)
    if isinstance(data, list):
        data = {"events": data}
    if not isinstance(data, dict):
        raise InputError.single(str(path), f"an event file must be a list or a mapping, got {type(data).__name__}")
    try:
        with use_timebase(scenario.timebase):
            script = EventScript.model_validate(data)
        scenario.check_events(script.events)
    except ValidationError as error:
        raise InputError(field_problems(error)) from None
    except PydanticCustomError as error:
        raise InputError.from_custom(error) from None
    return script.events


def load_state(path: Path, scenario: Scenario) -> RepairState | None:
    """The ``state`` of a repair result (``repair --out``), None for a plain plan file."""
    data = read_data(path)
    if not isinstance(data, dict) or "state" not in data:
        return None
    try:
        with use_timebase(scenario.timebase):
            return RepairState.model_validate(data["state"])
    except ValidationError as error:
        raise InputError(field_problems(error, "state")) from None


def load_plan(path: Path, scenario: Scenario) -> Schedule:
    """The ``assignments`` of a plan file (or of the ``plan`` of a repair result),
    validated against ``scenario``."""
    data = read_data(path)
    if isinstance(data, dict) and isinstance(data.get("plan"), dict):
        data = data["plan"]
    if not isinstance(data, dict) or "assignments" not in data:
        raise InputError.single(f"{path}: assignments", "is required (a plan file holds a list of assignments)")
    rows = data["assignments"]
    if isinstance(rows, list):  # the wall-clock columns that plan files carry beside the ticks
        rows = [{k: v for k, v in r.items() if k not in _DERIVED} if isinstance(r, dict) else r for r in rows]
    try:
        return load_schedule({"assignments": rows}, scenario)
    except ValidationError as error:
        raise InputError(field_problems(error)) from None
