
from rsad.errors import InputError
from rsad.ops.background import BackgroundJob
from rsad.progress import Phases, Rate, format_seconds


def test_job_reports_progress_and_result():
    def work(progress):
        for i in range(1, 4):
            progress(i, 3, f"step {i}")
        return "ok"

    job = BackgroundJob("t", work)
    assert job.snapshot().status == "queued"
    state = job.start().join(10)
    assert (state.status, state.result, state.done, state.total, state.fraction) == ("done", "ok", 3, 3, 1.0)
    assert job.start() is job  # starting again is a no-op


def test_job_failure_keeps_the_message():
    def work(progress):
        raise InputError("bad file: fix row 3")

    state = BackgroundJob("t", work).start().join(10)
    assert state.status == "failed" and state.error == "bad file: fix row 3"
    crash = BackgroundJob("t", lambda p: 1 / 0).start().join(10)
    assert crash.status == "failed" and "ZeroDivisionError" in crash.error


def test_phases_map_to_one_scale():
    seen = []
    phases = Phases({"a": 1, "b": 3}, lambda d, t, m: seen.append((d, t, m)))
    phases.phase("a", "A")(1, 2, "half")
    phases.phase("b", "B")(3, 3, "")
    assert seen == [(125, 1000, "A: half"), (1000, 1000, "B")]


def test_rate_and_eta_text():
    rate = Rate()
    rate.per_second(0)
    rate.started -= 10
    assert "10 / 20 rows (1.0 rows/s, about 10 s left)" == rate.describe(10, 20)
    assert format_seconds(75) == "1 min 15 s" and format_seconds(3700) == "1 h 01 min"
