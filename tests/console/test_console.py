"""The console in a real headless Chromium against a real server on port 0: every view,
live updates without reload, receipts, what-if; a screenshot of each view in
out/console-screens/."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from scheduler.domain.events import DowntimeStarted, Event, OperationCompleted, OperationStarted
from scheduler.service.convert import event_message, pb, plan_rows
from scheduler.service.server import Server
from tests.console.browser import screenshot_path
from tests.console.conftest import new_plan, url
from tests.service.harness import scenario, stub


def _report_downtime(server: Server, plan_id: str, event_id: str = "down-1") -> int:
    event = DowntimeStarted(event_id=event_id, time=30, machine="WELD-1", downtime_id=f"d-{event_id}",
                            expected_duration=40)  # fmt: skip
    with stub(server) as client:
        answer = client.ReportEvents(pb.ReportEventsRequest(plan_id=plan_id, events=[event_message(event)]))
    return answer.plan.version


def test_the_plan_list_shows_the_plan(server: Server, page: Page) -> None:
    new_plan(server, "listed")
    page.goto(url(server))
    row = page.locator("tr", has=page.locator("a[href='/plans/listed']"))
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2)).to_have_text("1")  # the version
    page.screenshot(path=screenshot_path("plans"), full_page=True)


def test_the_gantt_has_one_bar_per_operation(server: Server, page: Page) -> None:
    new_plan(server, "bars")
    page.goto(url(server, "/plans/bars"))
    ops = [op.id for order in scenario().orders for op in order.operations]
    shown = page.locator("#live rect[data-op]").evaluate_all("bars => bars.map(b => b.dataset.op)")
    assert sorted(shown) == sorted(ops)
    expect(page.locator("#live line.now")).to_have_count(1)
    page.screenshot(path=screenshot_path("gantt"), full_page=True)


def test_a_new_version_updates_the_page_without_reload(server: Server, page: Page) -> None:
    new_plan(server, "live")
    page.goto(url(server, "/plans/live"))
    expect(page.locator("#head")).to_have_attribute("data-version", "1")
    page.evaluate("window.notReloaded = true")
    downs_before = page.locator("#live rect.down").count()
    page.wait_for_timeout(300)  # the event stream is open
    version = _report_downtime(server, "live")
    assert version == 2
    expect(page.locator("#head")).to_have_attribute("data-version", "2", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#live rect.down").count() > downs_before  # the downtime is shaded
    expect(page.locator("#live tr.receipt")).to_have_count(1)
    page.screenshot(path=screenshot_path("live-update"), full_page=True)


def test_a_receipt_click_shows_its_version_and_diff(server: Server, page: Page) -> None:
    new_plan(server, "receipts")
    _report_downtime(server, "receipts")
    page.goto(url(server, "/plans/receipts"))
    page.locator("tr.receipt[data-version='2']").click()
    page.wait_for_url("**/plans/receipts/versions/2")
    expect(page.locator("#version")).to_have_attribute("data-version", "2")
    moved = int(page.locator("#diff").get_attribute("data-moved") or "-1")
    assert moved > 0
    expect(page.locator("rect.op.moved")).to_have_count(moved)
    page.screenshot(path=screenshot_path("version"), full_page=True)


def test_the_what_if_form_returns_a_diff_and_names_bad_fields(server: Server, page: Page) -> None:
    new_plan(server, "fork")
    page.goto(url(server, "/plans/fork/whatif"))
    page.locator("[name='kanban.cut->weld']").fill("-1")
    page.locator("[name='down.duration']").fill("soon")
    page.locator("[name='down.machine']").select_option("WELD-1")
    page.locator("#whatif button").click()
    problems = page.locator("#result #problems")
    expect(problems).to_contain_text("kanban.cut->weld")
    expect(problems).to_contain_text("down.duration")
    page.locator("[name='kanban.cut->weld']").fill("1")
    page.locator("[name='down.duration']").fill("40")
    page.locator("#whatif button").click()
    expect(page.locator("#result #diff")).to_be_visible(timeout=30_000)
    assert int(page.locator("#result #diff").get_attribute("data-moved") or "-1") >= 0
    charts = page.locator("#result .gantt svg")
    expect(charts).to_have_count(2)  # the live plan and the fork, side by side
    assert charts.nth(1).locator("rect.down").count() == charts.nth(0).locator("rect.down").count() + 1
    page.screenshot(path=screenshot_path("whatif"), full_page=True)


def test_the_line_state_shows_kpis_charts_and_the_monitor(server: Server, page: Page) -> None:
    new_plan(server, "line")
    _report_downtime(server, "line")
    page.goto(url(server, "/plans/line/line"))
    expect(page.locator("table").first).to_contain_text("throughput")
    assert page.locator("#charts svg").count() >= 3  # WIP per buffer, throughput vs takt, starvation
    expect(page.locator("h2", has_text="Takt monitor")).to_have_count(1)
    page.screenshot(path=screenshot_path("line"), full_page=True)


def test_sweep_results_from_the_folder(server: Server, page: Page) -> None:
    page.goto(url(server, "/sweeps"))
    page.locator("a", has_text="kanban").click()
    expect(page.locator("table")).to_contain_text("kanban=3")
    expect(page.locator("img[alt='Pareto front']")).to_have_count(1)
    page.screenshot(path=screenshot_path("sweeps"), full_page=True)


def test_reported_facts_are_drawn_against_the_plan(server: Server, page: Page) -> None:
    new_plan(server, "facts")
    with stub(server) as client:
        rows = plan_rows(client.GetPlan(pb.GetPlanRequest(plan_id="facts")).plan)
        op, (machine, start, end) = min(rows.items(), key=lambda row: (row[1][1], row[0]))
        late: list[Event] = [OperationStarted(event_id="s-1", time=start + 2, operation=op, machine=machine),
                OperationCompleted(event_id="c-1", time=end + 3, operation=op, machine=machine)]  # fmt: skip
        client.ReportEvents(pb.ReportEventsRequest(plan_id="facts", events=[event_message(e) for e in late]))
    page.goto(url(server, "/plans/facts"))
    expect(page.locator("#live rect.actual")).to_have_count(1)
    bar = page.locator(f"#live rect[data-op='{op}']")
    expect(bar).to_have_class("op frozen")
    expect(bar.locator("title")).to_contain_text(f"actual: {start + 2} to {end + 3}")
