"""Tables and plots from suite runs (pytest-benchmark JSON): ``results.json`` (every row),
``records.json`` (every event's answers), ``quality.json`` (the rows without timings: two
smoke runs must give the same file), ``table.md`` and PNG plots.

Usage: ``python benchmarks/report.py RUN.json [RUN.json ...] --out DIR`` (``lean-scheduler
bench`` calls it with its run). Several runs (parts of the full suite) merge into one
report; where two runs measured the same instance (or initial, scaling, service cell), the
later file on the command line wins.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from metrics import budgets_of, by_event_type, summarise

METHODS = ("right_shift", "plain_cp_sat", "default", "stability")
TIMINGS = {"latency_ms", "latency_samples", "build_ms", "right_shift_ms"}


KEYS = {"repair": ("instance", "budget_ms", "method"), "initial": ("instance", "seconds"), "scaling": ("instance",),
        "service": (), "lean_initial": ("line", "seconds", "method"), "lean_repair": ("line", "method")}  # fmt: skip
"""What identifies a row of each kind: a later run's row replaces an earlier one's."""


def collect(run: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = defaultdict(dict)
    for bench in run["benchmarks"]:
        info = bench.get("extra_info", {})
        for row in info.get("rows", []) if "kind" in info else []:
            rows[info["kind"]][tuple(row[k] for k in KEYS[info["kind"]])] = row
    return {kind: list(by_key.values()) for kind, by_key in rows.items()}


def records(run: dict[str, Any], key: str = "records") -> dict[str, Any]:
    """Per instance, every event's answer by every method (for analyses beyond the table);
    ``lean_records``: the capped lines'."""
    found: dict[str, Any] = {}
    for bench in run["benchmarks"]:
        found.update(bench.get("extra_info", {}).get(key, {}))
    return found


def quality(rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """What must not change between two runs with deterministic limits."""
    return {
        "repair": [{k: v for k, v in r.items() if k not in TIMINGS} for r in rows.get("repair", [])],
        "by_event_type": rows.get("by_event_type", []),
        "initial": rows.get("initial", []),
        "lean_initial": [{k: v for k, v in r.items() if k != "ms"} for r in rows.get("lean_initial", [])],
        "lean_repair": [{k: v for k, v in r.items() if k not in TIMINGS} for r in rows.get("lean_repair", [])],
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.2f}%"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(rows: dict[str, list[dict[str, Any]]], header: str) -> str:
    lines = [header, "", "### Repair", "",
             "| instance | ops | budget ms | method | events | latency p50 / p95 / p99 / max ms | makespan vs 10 s ref "
             "| w. tardiness vs ref | moved / right-shift (per-event mean) | \\|shift\\| / right-shift "
             "| worse than right-shift | tiers | solver gave nothing | invalid |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows.get("repair", []):
        lat = r["latency_ms"]
        latency = " / ".join("-" if lat[k] is None else f"{lat[k]:.0f}" for k in ("50", "95", "99", "max"))
        tiers = ", ".join(f"{k} {v:.1%}" for k, v in r["tiers"].items())
        lines.append(f"| {r['instance']} | {r['operations']} | {r['budget_ms']} | {r['method']} | {r['events']} | "
                     f"{latency} | {_pct(r['makespan_vs_reference'])} | {_pct(r['weighted_tardiness_vs_reference'])} | "
                     f"{_ratio(r['moved_vs_right_shift'])} ({_ratio(r['moved_vs_right_shift_mean'])}) | "
                     f"{_ratio(r['shift_vs_right_shift'])} | "
                     f"{r['worse_than_right_shift']} | {tiers} | {r['solver_gave_nothing']} | "
                     f"{r['invalid']} |")  # fmt: skip
    lines += _by_type_table(rows.get("by_event_type", []))
    lines += _lean_tables(rows)
    if rows.get("initial"):
        lines += ["", "### Initial scheduling", "",
                  "| instance | limit s | best known | ours | gap | plain CP-SAT | gap | valid |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows["initial"]:
            best = r["best_known"]
            gap = [
                ("-" if v is None or not best else f"{100 * (v - best) / best:.1f}%") for v in (r["ours"], r["plain"])
            ]
            found = [v for v in (r["ours_valid"], r["plain_valid"]) if v is not None]
            ours, plain = ("none in time" if v is None else v for v in (r["ours"], r["plain"]))
            lines.append(f"| {r['instance']} | {r['seconds']:g} | {best} | {ours} | {gap[0]} | {plain} | {gap[1]} | "
                         f"{'yes' if all(found) else 'NO'} |")  # fmt: skip
    if rows.get("scaling"):
        lines += ["", "### Cost against size (medians)", "",
                  "| instance | operations | model build ms | right-shift ms |", "|---|---|---|---|"]  # fmt: skip
        lines += [f"| {r['instance']} | {r['operations']} | {r['build_ms']:.1f} | {r['right_shift_ms']:.2f} |"
                  for r in rows["scaling"]]  # fmt: skip
    for r in rows.get("service", []):
        lat = sorted(r["latency_ms"])
        q = {p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))] for p in (50, 95, 99)}
        tiers = ", ".join(f"{k} {v}" for k, v in r["tiers"].items())
        lines += ["", "### ReportEvents over gRPC (loopback, demo line)", "",
                  f"{r['events']} events, budget {r['budget_ms']} ms: p50 {q[50]:.1f} / p95 {q[95]:.1f} / "
                  f"p99 {q[99]:.1f} / max {lat[-1]:.1f} ms; invalid {r['invalid']}; tiers {tiers}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _lean_tables(rows: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The capped lines: first plans against the shop's pull rules, then the shift's repairs."""
    lines: list[str] = []
    if rows.get("lean_initial"):
        lines += ["", "### Capped lines: first plan", "",
                  "| line | ops | limit s | method | makespan | w. tardiness | objective | vs better shop rule "
                  "| half-empty ticks | valid |", "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows["lean_initial"]:
            lines.append(f"| {r['line']} | {r['operations']} | {r['seconds']:g} | {r['method']} | {r['makespan']} | "
                         f"{r['weighted_tardiness']} | {r['objective']} | {_ratio(r['vs_better_shop_rule'])} | "
                         f"{r['half_empty']} | {'yes' if r['valid'] else 'NO'} |")  # fmt: skip
    if rows.get("lean_repair"):
        lines += ["", "### Capped lines: a shift of events in sequence", "",
                  "| line | ops | method | events | objective vs ref p50 / p95 / max | makespan vs ref p50 / max "
                  "| latency p50 / p99 / max ms | worse than right-shift / dispatcher | early return worse "
                  "| moved p50 | half-empty max | no answer / invalid |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for r in rows["lean_repair"]:
            o, m, lat = r["objective_vs_reference"], r["makespan_vs_reference"], r["latency_ms"]
            worse = (f"{r['worse_than_right_shift']} / {r['worse_than_dispatcher']}"
                     if "worse_than_dispatcher" in r else "-")  # fmt: skip
            lines.append(f"| {r['line']} | {r['operations']} | {r['method']} | {r['events']} | "
                         f"{_ratio(o['50'])} / {_ratio(o['95'])} / {_ratio(o['max'])} | "
                         f"{_ratio(m['50'])} / {_ratio(m['max'])} | "
                         + " / ".join("-" if lat[k] is None else f"{lat[k]:.0f}" for k in ("50", "99", "max"))
                         + f" | {worse} | {r.get('early_return_worse', '-')} | {r.get('moved_median', '-')} | "
                         f"{r['half_empty_max']} | {r.get('unanswered', 0)} / {r['invalid']} |")  # fmt: skip
    return lines


def _by_type_table(rows: list[dict[str, Any]]) -> list[str]:
    """Where the change comes from: per instance, budget and event type, right-shift's
    moved operations and each method's share of them (and its makespan gap)."""
    cells: dict[tuple[str, Any, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        cells[(r["instance"], r["budget_ms"], r["event_type"])][r["method"]] = r
    lines = ["", "### Change by event type", "",
             "| instance | budget ms | event type | events | right-shift moved (mean ops) "
             "| moved / right-shift: plain, default, stability | makespan vs ref: right-shift, default, stability |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for (inst, budget, kind), by_method in sorted(
        cells.items(), key=lambda c: (c[0][0], str(c[0][1]).zfill(6), c[0][2])
    ):
        if budget == "-":
            continue
        rs = cells[(inst, "-", kind)]["right_shift"]
        moved = ", ".join(_ratio(by_method[m]["moved_vs_right_shift"]) for m in METHODS[1:])
        gaps = ", ".join(_pct(r["makespan_vs_reference"]) for r in (rs, by_method["default"], by_method["stability"]))
        lines.append(f"| {inst} | {budget} | {kind} | {rs['events']} | {rs['moved_right_shift']:.1f} | {moved} | "
                     f"{gaps} |")  # fmt: skip
    return lines if len(lines) > 5 else []


def plots(rows: dict[str, list[dict[str, Any]]], out: Path) -> list[Path]:
    written = []
    repair = rows.get("repair", [])
    budgets = sorted({r["budget_ms"] for r in repair if r["budget_ms"] != "-"})
    if repair and budgets:
        _, ax = plt.subplots(figsize=(9, 4.5))
        width = 0.8 / 3
        for k, method in enumerate(METHODS[1:]):
            samples = [[x for xs in _values(repair, method, b, "latency_samples") for x in xs] for b in budgets]
            box = ax.boxplot(samples, positions=[i + (k - 1) * width for i in range(len(budgets))], widths=width * 0.9,
                             patch_artist=True, showfliers=True, whis=(1, 99))  # fmt: skip
            for patch in box["boxes"]:
                patch.set_facecolor(f"C{k}")
            ax.plot([], [], color=f"C{k}", linewidth=8, label=method)
        for i, b in enumerate(budgets):
            ax.hlines(b, i - 0.45, i + 0.45, colors="grey", linestyles=":")
        ax.set_xticks(range(len(budgets)), [str(b) for b in budgets])
        written.append(_save(ax, out / "latency.png", yscale="log", xlabel="budget (ms; dotted: the budget)",
                             ylabel="latency (ms)",
                             title="Latency distribution per budget (all instances; whiskers 1-99%)"))  # fmt: skip
        _, ax = plt.subplots(figsize=(8, 4.5))
        for method in METHODS[1:]:
            gaps = [statistics.mean(_values(repair, method, b, "makespan_vs_reference") or [0]) * 100 for b in budgets]
            ax.plot(budgets, gaps, marker="o", label=method)
        rs = [r["makespan_vs_reference"] * 100 for r in repair if r["method"] == "right_shift"
              and r["makespan_vs_reference"] is not None]  # fmt: skip
        if rs:
            ax.axhline(statistics.mean(rs), linestyle="--", color="grey", label="right_shift")
        written.append(_save(ax, out / "quality.png", xscale="log", xlabel="budget (ms)",
                             ylabel="makespan over the 10 s reference (%, mean)",
                             title="Quality against budget"))  # fmt: skip
        _, ax = plt.subplots(figsize=(8, 4.5))
        for method in METHODS[1:]:
            points = [(r["makespan_vs_reference"] * 100, r["moved_vs_right_shift"]) for r in repair
                      if r["method"] == method and r["makespan_vs_reference"] is not None
                      and r["moved_vs_right_shift"] is not None]  # fmt: skip
            if points:
                ax.scatter(*zip(*points, strict=True), label=method, alpha=0.7)
        written.append(_save(ax, out / "stability.png", xlabel="makespan over the 10 s reference (%)",
                             ylabel="moved operations / right-shift's",
                             title="Stability against quality (one point per instance and budget)"))  # fmt: skip
    if rows.get("scaling"):
        _, ax = plt.subplots(figsize=(8, 4.5))
        ops = [r["operations"] for r in rows["scaling"]]
        ax.plot(ops, [r["build_ms"] for r in rows["scaling"]], marker="o", label="CP-SAT model build")
        ax.plot(ops, [r["right_shift_ms"] for r in rows["scaling"]], marker="o", label="right-shift")
        written.append(_save(ax, out / "scaling.png", xscale="log", yscale="log", xlabel="operations",
                             ylabel="ms (median)", title="Cost against size"))  # fmt: skip
    return written


def _values(repair: list[dict[str, Any]], method: str, budget: int, key: str) -> list[Any]:
    """``key`` of every row of ``method`` at ``budget`` that has it."""
    return [r[key] for r in repair if r["method"] == method and r["budget_ms"] == budget and r[key] is not None]


def _save(ax: Any, path: Path, **labels: str) -> Path:
    """Label the axes, add the legend (when something was plotted with a label), write the PNG."""
    ax.set(**labels)
    if ax.get_legend_handles_labels()[0]:  # e.g. no stability point when right-shift moved nothing
        ax.legend()
    fig = ax.figure
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def merged(paths: list[Path]) -> dict[str, Any]:
    """One run of several: their benchmarks in order, the first one's machine, every date."""
    runs = [json.loads(path.read_text()) for path in paths]
    dates = [f"{str(run.get('datetime', '?'))[:16]} (commit {str(run.get('commit_info', {}).get('id', '?'))[:7]})"
             for run in runs]  # fmt: skip
    return {"benchmarks": [b for run in runs for b in run["benchmarks"]],
            "machine_info": runs[0].get("machine_info", {}), "datetime": ", ".join(dates)}  # fmt: skip


def write_report(run_json: list[Path], out: Path, header: str = "") -> list[Path]:
    run = merged(run_json)
    rows = collect(run)
    # Repair rows are recomputed from the records (the same metrics for runs made before a
    # metric changed); runs without records keep the rows they stored.
    answers = records(run)
    operations = {r["instance"]: r["operations"] for r in rows.get("repair", [])}
    results = [{"instance": name, "operations": operations.get(name), "records": found}
               for name, found in answers.items()]  # fmt: skip
    recomputed = [row for result in results for row in summarise(result, budgets_of(result["records"]))]
    rows["repair"] = [r for r in rows.get("repair", []) if r["instance"] not in answers] + recomputed
    rows["by_event_type"] = [row for result in results for row in by_event_type(result)]
    machine = run.get("machine_info", {})
    header = header or (f"Machine: {machine.get('machine', '?')}, {machine.get('cpu', {}).get('count', '?')} cores, "
                        f"Python {machine.get('python_version', '?')}, ortools {machine.get('ortools', '?')}; "
                        f"runs {run.get('datetime', '?')}")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    (out / "records.json").write_text(json.dumps(answers))
    (out / "lean-records.json").write_text(json.dumps(records(run, "lean_records")))
    (out / "quality.json").write_text(json.dumps(quality(rows), indent=1, sort_keys=True))
    (out / "table.md").write_text(table(rows, header))
    return [out / "results.json", out / "records.json", out / "lean-records.json", out / "quality.json",
            out / "table.md", *plots(rows, out)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("run", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--header", default="")
    args = parser.parse_args()
    for path in write_report(args.run, args.out, args.header):
        print(path)


if __name__ == "__main__":
    main()
