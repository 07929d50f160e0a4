"""Background improvement on a real server: off by default; when on, an idle plan gets a
better version that watchers see (tier background), and events still repair on top of it."""

from __future__ import annotations

import os
import threading

import pytest

from scheduler.domain import InputError
from scheduler.domain.events import DowntimeStarted
from scheduler.engine.history import EVENT
from scheduler.engine.improve import NICE
from scheduler.service.convert import event_message, pb
from tests.engine.test_improve import poor_scenario
from tests.service.harness import Replica, config, running, stub
from tests.service.test_metrics import scrape, total


def document() -> pb.ScenarioDocument:
    return pb.ScenarioDocument(format=pb.DOCUMENT_FORMAT_JSON, content=poor_scenario().model_dump_json().encode())


def test_an_idle_plan_gets_a_better_version_that_watchers_see(tmp_path):
    with running(config(tmp_path, improve_share=1.0, metrics_addr="127.0.0.1:0")) as server, stub(server) as client:
        first = client.CreatePlan(pb.CreatePlanRequest(plan_id="line", scenario=document())).plan
        stream = client.WatchPlan(pb.WatchPlanRequest(plan_id="line", from_version=2), timeout=120)
        improved = next(iter(stream)).plan
        stream.cancel()
        assert improved.version == 2
        thread = next(t for t in threading.enumerate() if t.name == "improver")
        assert thread.native_id is not None and os.getpriority(os.PRIO_PROCESS, thread.native_id) == NICE
        assert improved.receipt.tier == pb.REPAIR_TIER_BACKGROUND
        assert improved.kpis.objective <= 0.995 * first.kpis.objective
        replica = Replica(poor_scenario(), first)
        logged = server.book.store.log("line")[0]  # the plan_improved event, replayed with its plan
        replica.take(EVENT.validate_json(logged.event), improved, changed=True)

        stop = DowntimeStarted(event_id="d1", time=30, machine="WELD-1", downtime_id="d1", expected_duration=20)
        answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="line", events=[event_message(stop)]))
        assert answer.acks[0].version > improved.version and answer.acks[0].receipt.valid
        replica.take(stop, answer.plan, changed=True)
        samples = scrape(server.metrics_port)
        assert total(samples, "lean_scheduler_background_versions_total") >= 1
        assert total(samples, "lean_scheduler_background_passes_total") >= 1


def test_off_by_default_and_a_bad_share_is_named(tmp_path):
    with running(config(tmp_path)) as server:
        assert server.improver is None
    with pytest.raises(InputError, match="improve_share"), running(config(tmp_path, improve_share=1.5)):
        pass
