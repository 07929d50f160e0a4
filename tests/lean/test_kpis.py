"""KPI definitions on a hand-computed case: starvation, blocking and other idle time of
the drum told apart; WIP, waiting, lead time, throughput against takt."""

from __future__ import annotations

from scheduler.lean.kpis import BufferShape, Line, Run, line_kpis

LINE = Line(
    precedences=(("J1-A", "J1-D"), ("J1-D", "J1-C"), ("J2-A", "J2-D"), ("J2-D", "J2-C")),
    precedence_stations=(("A", "D"), ("D", "C")) * 2,
    job_release={"J1": 0, "J2": 0},
    job_ops={"J1": ("J1-A", "J1-D", "J1-C"), "J2": ("J2-A", "J2-D", "J2-C")},
    buffers=(BufferShape("A->D", "A", "D", 2), BufferShape("D->C", "D", "C", 1)),
    drum="D",
    drum_machines=1,
    takt=10.0,
)
RUNS = [
    Run("J1-A", "J1", "A", "a", 0, 2), Run("J1-D", "J1", "D", "d", 2, 5), Run("J1-C", "J1", "C", "c", 7, 9),
    Run("J2-A", "J2", "A", "a", 2, 4), Run("J2-D", "J2", "D", "d", 7, 9), Run("J2-C", "J2", "C", "c", 9, 11),
]  # fmt: skip


def test_starvation_blocking_and_idle_are_told_apart():
    k = line_kpis(RUNS, LINE, 0, 10)
    # the drum: busy [2, 5) and [7, 9); idle [0, 2) and [9, 10) with nothing waiting (starved);
    # idle [5, 7) while J2 waits for it and J1 fills the buffer after it (cap 1): blocked
    assert (k.bottleneck_utilisation, k.bottleneck_starvation, k.blocking) == (0.5, 0.3, 0.2)


def test_wip_waiting_lead_time_and_throughput_against_takt():
    k = line_kpis(RUNS, LINE, 0, 10)
    assert k.wip_mean == {"A->D": 0.3, "D->C": 0.2} and k.wip_peak == {"A->D": 1, "D->C": 1}
    assert k.waiting_mean == 1.25  # waits of 0, 3, 2 and 0 ticks
    assert (k.completed, k.throughput, k.lead_time_mean, k.takt_adherence) == (1, 0.1, 9.0, 1.0)


def test_a_drum_that_is_not_blocked_by_a_free_buffer_is_only_idle():
    free = Line(**{**LINE.__dict__, "buffers": (BufferShape("A->D", "A", "D", 2), BufferShape("D->C", "D", "C", 5))})
    k = line_kpis(RUNS, free, 0, 10)
    assert (k.bottleneck_starvation, k.blocking) == (0.3, 0.0)  # [5, 7) is idle time of neither kind


def test_schedule_adherence_and_jobs_still_waiting_at_the_window_end():
    planned = {r.op_id: r.start for r in RUNS}
    late = [Run(r.op_id, r.job, r.station, r.machine, r.start + 2, r.end + 2) if r.op_id == "J2-D" else r for r in RUNS]
    k = line_kpis(late[:4], LINE, 0, 6, planned)  # J2-D not started by 6: J2 waits for the drum up to the end
    assert k.schedule_adherence == 0.0 and k.wip_mean["A->D"] == round(2 / 6, 4)
    assert line_kpis(late, LINE, 0, 12, planned).schedule_adherence == round(2 / 6, 2)
