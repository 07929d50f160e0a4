"""The console with a large plan: the live Gantt page of ta71 (100 jobs x 20 machines =
2 000 operations, its stored base plan) in the distribution's headless Chromium, against a
real ``lean-scheduler serve --http-addr``. Per load: the server's answer, DOMContentLoaded,
load, and the first frame painted after it; then the in-place re-render the live stream
triggers (fetch the fragment, replace it, next frame). Medians over ``--loads``.

    python benchmarks/console_bench.py --loads 5
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
_PAINTED = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now()))))"
_TIMES = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {answer_ms: n.responseEnd - n.requestStart, dom_content_loaded_ms: n.domContentLoadedEventEnd,
          load_ms: n.loadEventEnd}; }"""
_RERENDER = (
    "async () => { const t0 = performance.now(); const answer = await fetch(location.pathname + '/live');"
    " document.getElementById('live').innerHTML = await answer.text();"
    f" const t1 = await {_PAINTED}; return t1 - t0; }}"
)


def scenario_with_plan(name: str, out: Path) -> Path:
    """The job-shop scenario with its stored base plan (no solve at creation)."""
    data = json.loads((ROOT / "scenarios" / "jssp" / f"{name}.json").read_text())
    plan = json.loads((ROOT / "benchmarks" / "plans" / f"{name}.json").read_text())
    keys = ("operation_id", "machine_id", "start", "end")
    data["baseline"] = {"assignments": [{k: a[k] for k in keys} for a in plan["assignments"]]}
    path = out / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def serve(data: Path) -> tuple[subprocess.Popen[str], str, str]:
    """The server, its gRPC address and its console's URL (read from what it prints)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "serve", "--addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
         "--data-dir", str(data), "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    grpc_addr = console = ""
    for line in process.stdout:
        if "listening on" in line:
            grpc_addr = line.split("listening on ")[1].split()[0]
        if "console at" in line:
            console = line.split("console at ")[1].strip().rstrip("/")
            return process, grpc_addr, console
    raise RuntimeError("the server ended before it printed the console's address")


def measure(console: str, loads: int) -> dict[str, Any]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no Chromium: .ci/install-chromium.sh installs it")
    runs: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for _ in range(loads):
            page.goto(f"{console}/plans/big", wait_until="load")
            painted = page.evaluate(_PAINTED)
            times = page.evaluate(_TIMES)
            runs.append({**times, "painted_ms": painted, "rerender_ms": page.evaluate(_RERENDER)})
        bars = page.locator("#live rect[data-op]").count()
        size = len(page.content())
        browser.close()
    medians = {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
    return {"operations_drawn": bars, "page_bytes": size, "loads": loads, "median": medians, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instance", default="ta71")
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        process, grpc_addr, console = serve(Path(tmp))
        try:
            scenario = scenario_with_plan(args.instance, Path(tmp))
            subprocess.run([sys.executable, "-m", "scheduler", "client", "--addr", grpc_addr, "create",
                            str(scenario), "--plan-id", "big"], check=True, cwd=ROOT)  # fmt: skip
            result = measure(console, args.loads)
        finally:
            process.terminate()
            process.wait(30)
    result.update(instance=args.instance, machine=f"{platform.machine()}, {platform.processor() or '?'}",
                  python=platform.python_version())  # fmt: skip
    print(json.dumps(result["median"] | {"operations_drawn": result["operations_drawn"],
                                         "page_bytes": result["page_bytes"]}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
