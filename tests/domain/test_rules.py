"""Rules in a scenario or a rules file: one schema, and bad rules named by their field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler.cli import main
from scheduler.domain import InputError
from scheduler.domain.files import load_rules, load_scenario, parse_scenario
from tests.service.harness import SMALL

GOOD = {
    "id": "feed-the-drum",
    "when": {"kpi": "bottleneck_starvation", "window": 120, "above": 0.10},
    "then": {"set": "kanban", "buffer": "cut->weld", "step": 1, "min": 1, "max": 6},
    "expect": {"kpi": "bottleneck_starvation", "below": 0.05, "within": 240},
    "cooldown": 120,
}


def with_rules(*rules: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SMALL.read_text())
    data["rules"] = list(rules)
    return data


def changed(path: str, value: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {k: dict(v) if isinstance(v, dict) else v for k, v in GOOD.items()}
    head, _, name = path.rpartition(".")
    (rule[head] if head else rule)[name] = value
    return rule


def problem_of(data: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(InputError) as caught:
        parse_scenario(data)
    (first, *_) = caught.value.problems
    return first.field, first.message


def test_a_scenario_keeps_its_rules():
    scenario = parse_scenario(with_rules(GOOD))
    (rule,) = scenario.rules
    assert (rule.when.kpi, rule.then.buffer, rule.then.step, rule.expect.within) == (
        "bottleneck_starvation", "cut->weld", 1, 240)  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "field", "says"),
    [
        ("when.kpi", "happiness", "rules[0].when.kpi", "bottleneck_starvation"),
        ("then.buffer", "cut->pack", "rules[0].then.buffer", "unknown buffer 'cut->pack'"),
        ("then.set", "speed", "rules[0].then.set", "kanban"),
        ("then.min", 7, "rules[0].then.min", "min 7 is above max 6"),
        ("then.step", 0, "rules[0].then.step", "step other than 0"),
        ("when.above", None, "rules[0].when.above", "exactly one of above or below"),
        ("expect.within", 0, "rules[0].expect.within", "greater than or equal to 1"),
        ("expect.kpi", "wip_mean", "rules[0].expect.buffer", "wip_mean is per buffer"),
    ],
)
def test_a_bad_rule_is_named_by_its_field(path, value, field, says):
    where, message = problem_of(with_rules(changed(path, value)))
    assert where == field and says in message


def test_duplicate_rules_and_conwip_without_a_cap_are_refused():
    assert problem_of(with_rules(GOOD, GOOD))[0] == "rules[1].id"
    data = with_rules(changed("then", {"set": "conwip", "step": 1, "min": 1, "max": 9}))
    del data["plant"]["conwip"]
    assert problem_of(data) == ("rules[0].then.set", "the plant has no CONWIP cap to change")


def test_a_rules_file_takes_the_same_schema(tmp_path: Path):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": [GOOD]}))
    assert [r.id for r in load_rules(path, load_scenario(SMALL)).rules] == ["feed-the-drum"]
    path.write_text(yaml.safe_dump({"rules": [changed("when.kpi", "happiness")]}))
    with pytest.raises(InputError) as caught:
        load_rules(path, load_scenario(SMALL))
    assert caught.value.problems[0].field == "rules[0].when.kpi"
    path.write_text(yaml.safe_dump({"rule": [GOOD]}))
    with pytest.raises(InputError, match="one key, rules"):
        load_rules(path, load_scenario(SMALL))


def test_the_shipped_rules_file_fits_the_demo_line():
    root = SMALL.parents[2]
    scenario = load_rules(root / "scenarios/rules/demo_rules.yaml", load_scenario(root / "scenarios/demo_line.yaml"))
    assert [r.then.buffer for r in scenario.rules] == ["bend->weld", "weld->paint"]


def test_the_cli_names_a_bad_rule_in_one_line(tmp_path: Path, capsys):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": [changed("then.buffer", "cut->pack")]}))
    assert main(["simulate", str(SMALL), "--rules", str(path), "--until", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "rules[0].then.buffer" in err[0] and "cut->pack" in err[0]
