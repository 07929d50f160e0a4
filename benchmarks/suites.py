"""The suites: ``smoke`` (CI: minutes, deterministic limits, fixed seeds; it asserts quality
and validity, never timings), ``full`` (every instance and budget, the 5 000-operation
``syn200x25`` and chained streams: more than a day on 2 cores) and ``targets`` (the full
suite's cells that the README's targets name: ta21 and ta51 at 500 ms, ta71 at 200 ms, each
on its own and chained (``+chain``: events in sequence, as on a shift), 200 events each;
about 4 hours); ``lean`` is the capped flow lines alone (``lean_cells``: 300 to 5 000
operations, first plan and a shift of events each; every suite but ``lean`` has them too,
the smoke suite its smallest with deterministic limits)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cells import Settings
from lean_cells import LINES, LeanSettings

JSSP = ["ft10", "la16", "la17", "la18", "la19", "la20", *(f"ta{k:02d}" for k in range(1, 11)),
        "ta21", "ta41", "ta51", "ta61", "ta71"]  # fmt: skip
SCALING = ["ft10", "ta01", "ta21", "ta41", "ta51", "ta61", "ta71"]


@dataclass(frozen=True)
class Suite:
    name: str
    repair: list[str]
    settings: Settings
    initial: list[str]
    initial_seconds: tuple[float, ...]
    scaling: list[str]
    service_events: int
    budgets_for: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """Per instance, when it differs from ``settings.budgets`` (``--budgets`` overrides both)."""
    lean: list[str] = field(default_factory=list)
    """Capped flow lines (``lean_cells.LINES``): their first plan and a shift of events."""
    lean_settings: LeanSettings = field(default_factory=LeanSettings)

    def budgets(self, instance: str) -> tuple[int, ...]:
        return self.budgets_for.get(instance, self.settings.budgets)


SUITES = {
    "smoke": Suite(
        name="smoke",
        repair=["ft10", "la16", "demo", "la16+chain"],
        settings=Settings(budgets=(200, 500), events=4, seed=1, reference_s=2.0, deterministic=True),
        initial=["ft10", "la16"],
        initial_seconds=(1.0,),
        scaling=["ft10", "ta21", "ta51"],
        service_events=4,
        lean=["flow300"],
        lean_settings=LeanSettings(budgets=(200,), events=6, first_s=2.0, reference_s=2.0, deterministic=True),
    ),
    "full": Suite(
        name="full",
        repair=[*JSSP, "demo", "syn200x25", "ta21+chain", "ta51+chain", "ta71+chain", "syn200x25+chain"],
        settings=Settings(budgets=(100, 200, 500, 2000), events=200, seed=1, reference_s=10.0),
        initial=JSSP,
        initial_seconds=(1.0, 10.0),
        scaling=SCALING,
        service_events=200,
        lean=list(LINES),
        lean_settings=LeanSettings(budgets=(50, 200, 500)),
    ),
    "targets": Suite(
        name="targets",
        repair=["ta21", "ta51", "ta71", "ta21+chain", "ta51+chain", "ta71+chain"],
        settings=Settings(budgets=(500,), events=200, seed=1, reference_s=10.0),
        budgets_for={"ta71": (200,), "ta71+chain": (200,)},
        initial=["ta21", "ta51", "ta71"],
        initial_seconds=(1.0, 10.0),
        scaling=SCALING,
        service_events=200,
        lean=list(LINES),
    ),
    "lean": Suite(
        name="lean",
        repair=[],
        settings=Settings(),
        initial=[],
        initial_seconds=(),
        scaling=[],
        service_events=0,
        lean=list(LINES),
    ),
}
