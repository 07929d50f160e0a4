"""Times in scenarios: integer ticks, or ISO-8601 UTC timestamps rounded to the nearest tick."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scheduler.domain import Scenario
from scheduler.domain.errors import field_problems
from tests.helpers import job, line


def _scenario(**fields):
    return Scenario.model_validate(
        {
            "plant": line("A"),
            "orders": [job("J1", ("A", 5), **fields)],
            "time_unit": "minute",
            "start": "2026-03-02T06:00:00Z",
        }
    )


def test_iso_timestamps_become_ticks_of_the_declared_unit():
    sc = _scenario(release="2026-03-02T07:30:00Z", due="2026-03-02T09:00:00+01:00")
    assert (sc.orders[0].release, sc.orders[0].due) == (90, 120)  # 09:00+01:00 is 08:00Z


@pytest.mark.parametrize(
    ("stamp", "tick"),
    [("2026-03-02T07:30:29.999Z", 90), ("2026-03-02T07:30:30Z", 91), ("2026-03-02T07:29:30.000001Z", 90),
     ("2026-03-02T08:30:30.5+01:00", 91)],
)  # fmt: skip
def test_timestamps_round_to_the_nearest_tick_halves_up(stamp, tick):
    assert _scenario(release=stamp).orders[0].release == tick


def test_integer_offsets_pass_through():
    assert _scenario(release=15).orders[0].release == 15


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-03-02T07:30:00", "has no UTC offset"),
        ("soon", "neither an integer tick nor an ISO-8601 timestamp"),
        (1.5, "expected integer ticks or an ISO-8601 timestamp"),
        (True, "expected a time"),
    ],
)
def test_bad_times_name_the_field(value, message):
    with pytest.raises(ValidationError) as caught:
        _scenario(release=value)
    problems = field_problems(caught.value)
    assert problems[0].field == "orders[0].release"
    assert message in problems[0].message


def test_timestamps_need_a_start():
    data = {"plant": line("A"), "orders": [job("J1", ("A", 5), release="2026-03-02T07:30:00Z")]}
    with pytest.raises(ValidationError) as caught:
        Scenario.model_validate(data)
    assert "needs the scenario's start" in str(field_problems(caught.value)[0])


def test_plan_times_convert_back_to_utc():
    sc = _scenario()
    assert sc.timebase.to_datetime(90).isoformat() == "2026-03-02T07:30:00+00:00"
