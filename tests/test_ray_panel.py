"""The sidebar's job panel shows a Ray scoring run (a job row of kind "score") as scoring, not
as a retraining: running with its progress, done with its result, stopped, failed. No Ray needed."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import sign_in
from rsad.data.orm import TrainingJob, utcnow

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.mark.parametrize(("status", "expected"), [
    ("done", "Scoring on Ray done"),
    ("stopped", "Scoring on Ray stopped by root"),
    ("failed", "Scoring on Ray failed"),
])
def test_the_sidebar_shows_a_ray_scoring_run(store, users, status: str, expected: str) -> None:  # noqa: ANN001
    with store.session() as s:
        s.add(TrainingJob(status=status, project_id=store.project_id, created_by="root", done=40, total=40,
                          params={"kind": "score", "engine": "ray", "batch": "b", "stopped_by": "root"},
                          message="Scored batch 'b' on Ray", error="boom" if status == "failed" else "",
                          finished_at=utcnow()))
    at = AppTest.from_file(APP, default_timeout=120).run()
    sign_in(at, "root")
    texts = [c.value for c in at.sidebar.caption] + [e.value for e in at.sidebar.error]
    assert any(expected in t for t in texts), texts
    assert not any("Retrain" in t for t in texts), texts
