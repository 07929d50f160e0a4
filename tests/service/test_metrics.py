"""Prometheus metrics scraped over HTTP from a real server after real calls: the counts are
what the test did."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from scheduler.domain import InputError
from scheduler.domain.events import DowntimeStarted
from scheduler.service.config import load_config
from scheduler.service.convert import event_message, pb, pb_grpc
from scheduler.service.metrics import MAX_SOURCES
from tests.engine.test_ledger import _base
from tests.engine.test_rules import FEED, _reported, ruled, starving
from tests.engine.test_takt import _slow_welds
from tests.service.harness import config, document, running, stub, with_baseline

SERVICE = "scheduler.rpc.v1.SchedulerService"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int | None) -> Samples:
    """Every sample at /metrics, by (name, labels)."""
    assert port is not None, "metrics are off"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def counted(port: int | None, method: str, code: str) -> Samples:
    """Every sample once the call is counted: the server counts a call as it ends, and an aborted
    call's client has its status a moment before that."""
    samples = scrape(port)
    for _ in range(250):
        if value(samples, "lean_scheduler_grpc_calls_total", method=method, code=code):
            break
        time.sleep(0.02)
        samples = scrape(port)
    return samples


def total(samples: Samples, name: str) -> float:
    """A metric summed over its label values."""
    return sum(v for (n, _), v in samples.items() if n == name)


def down(event_id: str, time: int, machine: str = "WELD-1", downtime_id: str = "", **envelope: object) -> pb.Event:
    event = DowntimeStarted(event_id=event_id, time=time, machine=machine, downtime_id=downtime_id or f"d-{event_id}",
                            expected_duration=15, **envelope)  # fmt: skip
    return event_message(event)


def tier(receipt: pb.Receipt) -> str:
    return pb.RepairTier.Name(receipt.tier).removeprefix("REPAIR_TIER_").lower()


def test_metrics_count_what_the_calls_did(tmp_path):
    with running(config(tmp_path, metrics_addr="127.0.0.1:0")) as server, stub(server) as client:
        assert server.metrics_port
        client.CreatePlan(pb.CreatePlanRequest(plan_id="line-1", scenario=document()))
        report = lambda *events: client.ReportEvents(pb.ReportEventsRequest(plan_id="line-1", events=list(events)))  # noqa: E731
        acks = list(report(down("s1", 10, sequence=1)).acks)
        assert report(down("s1", 10, sequence=1)).acks[0].duplicate
        acks += report(down("s2", 5, "PACK-1", sequence=3)).acks  # late, and sequence 2 missing
        refused = []
        for bad in (down("bad", 12, "LASER-9"), down("again", 14, downtime_id="d-s1")):  # unknown machine; restarted
            with pytest.raises(grpc.RpcError) as error:
                report(bad)
            refused.append(error.value.code())
        with pytest.raises(grpc.RpcError) as missing:
            client.GetPlan(pb.GetPlanRequest(plan_id="nope"))
        latest = client.GetPlan(pb.GetPlanRequest(plan_id="line-1")).plan.version
        samples = scrape(server.metrics_port)

    assert refused == [grpc.StatusCode.INVALID_ARGUMENT] * 2 and missing.value.code() == grpc.StatusCode.NOT_FOUND
    calls = "lean_scheduler_grpc_calls_total"
    assert value(samples, calls, method=f"{SERVICE}/CreatePlan", code="OK") == 1
    assert value(samples, calls, method=f"{SERVICE}/ReportEvents", code="OK") == 3
    assert value(samples, calls, method=f"{SERVICE}/ReportEvents", code="INVALID_ARGUMENT") == 2
    assert value(samples, calls, method=f"{SERVICE}/GetPlan", code="NOT_FOUND") == 1
    assert value(samples, calls, method=f"{SERVICE}/GetPlan", code="OK") == 1
    assert value(samples, "lean_scheduler_grpc_call_duration_seconds_count", method=f"{SERVICE}/ReportEvents") == 5

    assert value(samples, "lean_scheduler_events_total", type="downtime_started", source="mes") == 2
    assert value(samples, "lean_scheduler_events_duplicate_total", type="downtime_started", source="mes") == 1
    assert value(samples, "lean_scheduler_events_refused_total", reason="invalid") == 1
    assert value(samples, "lean_scheduler_events_refused_total", reason="contradiction") == 1
    irregular = "lean_scheduler_events_irregular_total"
    assert [value(samples, irregular, kind=k) for k in ("late", "sequence_gap", "out_of_order", "conflicting")] == [
        1,
        1,
        0,
        1,
    ]

    repaired = [a for a in acks if tier(a.receipt) != "none"]
    for name in {tier(a.receipt) for a in acks}:
        assert value(samples, "lean_scheduler_answers_total", tier=name) == sum(tier(a.receipt) == name for a in acks)
    assert total(samples, "lean_scheduler_repair_duration_seconds_count") == len(repaired) == 2
    assert total(samples, "lean_scheduler_repair_duration_seconds_sum") == pytest.approx(
        sum(a.receipt.latency_ms for a in repaired) / 1000
    )
    overruns = sum(a.receipt.latency_ms > a.receipt.budget_ms for a in repaired)
    assert total(samples, "lean_scheduler_budget_overruns_total") == overruns

    assert value(samples, "lean_scheduler_plans") == 1
    assert value(samples, "lean_scheduler_plan_versions") == latest == 3
    assert value(samples, "lean_scheduler_solves_in_flight") == 0
    assert value(samples, "lean_scheduler_admission_rejections_total") == 0
    assert not any("line-1" in v or v == "s1" for _, labels in samples for _, v in labels)  # no id is a label


def test_monitor_detections_and_bounded_sources(tmp_path):
    with running(config(tmp_path, metrics_addr="127.0.0.1:0")) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document()))
        answer = client.ReportEvents(
            pb.ReportEventsRequest(plan_id="p", events=[event_message(e) for e in _slow_welds()])
        )
        sources = [pb.Event(event_id=f"x{k}", source=f"line-{k}", occur_tick=90,
                            cycle_time_observed=pb.CycleTimeObserved(station="cut", factor=1.0))
                   for k in range(MAX_SOURCES + 3)]  # fmt: skip
        client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=sources))
        samples = scrape(server.metrics_port)
    assert [a.source for a in answer.derived] == ["monitor"]
    assert value(samples, "lean_scheduler_monitor_detections_total") == 1
    assert value(samples, "lean_scheduler_events_total", type="cycle_time_observed", source="monitor") == 1
    assert value(samples, "lean_scheduler_rule_firings_total") == 0
    # mes and monitor came first, then 14 of the new sources; the last 5 are "other"
    seen = {dict(labels)["source"] for name, labels in samples if name == "lean_scheduler_events_total"}
    assert len(seen - {"other"}) == MAX_SOURCES and {"mes", "monitor", "line-13", "other"} <= seen
    assert value(samples, "lean_scheduler_events_total", type="cycle_time_observed", source="other") == 5


def test_admission_rejections_are_counted(tmp_path):
    slow = {"budget_ms": 20_000, "workers": 1}
    with running(config(tmp_path, max_solves=1, metrics_addr="127.0.0.1:0")) as server, stub(server) as client:
        for plan_id in ("a", "b"):
            client.CreatePlan(pb.CreatePlanRequest(plan_id=plan_id, scenario=with_baseline("ta21", **slow)))
        busy = client.ReportEvents.future(pb.ReportEventsRequest(plan_id="a", events=[down("e1", 500, "M3")]))
        busy_samples: Samples = {}
        for _ in range(100):  # until the first call holds the slot
            busy_samples = scrape(server.metrics_port)
            if value(busy_samples, "lean_scheduler_solves_in_flight") == 1:
                break
        assert value(busy_samples, "lean_scheduler_solves_in_flight") == 1
        with pytest.raises(grpc.RpcError) as refused:
            client.ReportEvents(pb.ReportEventsRequest(plan_id="b", events=[down("e2", 510, "M4")]))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        samples = counted(server.metrics_port, f"{SERVICE}/ReportEvents", "RESOURCE_EXHAUSTED")
        busy.cancel()
    assert value(samples, "lean_scheduler_admission_rejections_total") == 1
    assert value(samples, "lean_scheduler_grpc_calls_total", method=f"{SERVICE}/ReportEvents",
                 code="RESOURCE_EXHAUSTED") == 1  # fmt: skip


def test_metrics_are_off_by_default_and_a_bad_address_names_the_setting(tmp_path):
    with running(config(tmp_path)) as server:
        assert server.metrics_port is None
    for addr, words in (("nonsense", "is not HOST:PORT"), ("127.0.0.1:99999", "is not HOST:PORT")):
        with pytest.raises(InputError) as error, running(config(tmp_path, metrics_addr=addr)):
            pass
        assert error.value.problems[0].field == "metrics_addr" and words in error.value.problems[0].message
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        addr = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(InputError) as error, running(config(tmp_path, metrics_addr=addr)):
            pass
    assert error.value.problems[0].field == "metrics_addr" and "cannot listen on" in error.value.problems[0].message
    assert load_config(env={"LEAN_SCHEDULER_METRICS_ADDR": "0.0.0.0:9464"}).metrics_addr == "0.0.0.0:9464"


def test_the_endpoint_stops_with_the_server(tmp_path):
    with running(config(tmp_path, metrics_addr="127.0.0.1:0")) as server:
        port = server.metrics_port
        assert port is not None and scrape(port)
    with pytest.raises(urllib.error.URLError):
        scrape(port)


def test_refused_tokens_and_health_checks_are_counted(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    settings = config(tmp_path / "data", token_file=token_file, metrics_addr="127.0.0.1:0")
    with running(settings) as server, grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as refused:
            pb_grpc.SchedulerServiceStub(channel).ListPlans(pb.ListPlansRequest())
        samples = counted(server.metrics_port, f"{SERVICE}/ListPlans", "UNAUTHENTICATED")
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    calls = "lean_scheduler_grpc_calls_total"
    assert value(samples, calls, method=f"{SERVICE}/ListPlans", code="UNAUTHENTICATED") == 1
    assert value(samples, calls, method="grpc.health.v1.Health/Check", code="OK") == 1


def test_rule_firings_are_counted(tmp_path):
    scenario = ruled(FEED).model_copy(update={"baseline": _base(), "policy": _reported()})
    document = pb.ScenarioDocument(format=pb.DOCUMENT_FORMAT_JSON, content=scenario.model_dump_json().encode())
    with running(config(tmp_path, metrics_addr="127.0.0.1:0")) as server, stub(server) as client:
        client.CreatePlan(pb.CreatePlanRequest(plan_id="p", scenario=document))
        answer = client.ReportEvents(pb.ReportEventsRequest(plan_id="p", events=[event_message(e) for e in starving()]))
        samples = scrape(server.metrics_port)
    assert [(a.event_id, a.source) for a in answer.derived] == [("rule-feed-weld-1", "rules")]
    assert value(samples, "lean_scheduler_rule_firings_total") == 1
    assert value(samples, "lean_scheduler_events_total", type="parameter_changed", source="rules") == 1
    assert value(samples, "lean_scheduler_monitor_detections_total") == 0
