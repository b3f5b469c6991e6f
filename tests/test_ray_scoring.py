"""Scoring on Ray: the same scores as the local path (1 and 2 actors), idempotent, resumable,
a Parquet file scored into Parquet, and a run shown (and stoppable) as a job. One local Ray,
capped at 2 CPUs, for the whole module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import tiny_table

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'rsad[ray]'")
pytestmark = pytest.mark.model  # starts Ray and loads the tiny model


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> None:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _ingest(store, n: int = 120) -> str:  # noqa: ANN001
    from rsad.data.uploads import ingest_file

    data = tiny_table(n).drop(columns=["is_anomaly"]).to_csv(index=False).encode()
    return ingest_file(store, data, file_name="ray.csv", name="ray-batch")["name"]


def _scores(store, batch: str) -> dict[int, float]:  # noqa: ANN001
    from sqlalchemy import select

    from rsad.data import store as q
    from rsad.data.orm import Case, Score
    from rsad.model.versions import active_version

    version = active_version(store)
    with store.session() as s:
        b = q.get_batch(s, batch, project_id=store.project_id)
        return dict(s.execute(select(Score.case_id, Score.score).join(Case, Case.id == Score.case_id)
                              .where(Case.batch_id == b.id, Score.model_version_id == version.id)).all())


def _clear(store, batch: str) -> None:  # noqa: ANN001
    from sqlalchemy import delete, select

    from rsad.data import store as q
    from rsad.data.orm import Case, Score

    with store.session() as s:
        b = q.get_batch(s, batch, project_id=store.project_id)
        s.execute(delete(Score).where(Score.case_id.in_(select(Case.id).where(Case.batch_id == b.id))))


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_scores_equal_the_local_path(store_with_model, workers: int, monkeypatch) -> None:  # noqa: ANN001
    from rsad.ops.ray_scoring import score_batch_ray
    from rsad.ops.scoring import score_batch

    monkeypatch.setattr("rsad.ops.scoring.SCORE_CHUNK", 40)  # three chunks: both actors get work
    store = store_with_model
    batch = _ingest(store)
    local = score_batch(store, batch)
    assert local["scored_now"] == 120
    expected = _scores(store, batch)
    _clear(store, batch)
    out = score_batch_ray(store, batch, workers=workers)
    got = _scores(store, batch)
    assert out["scored_now"] == 120 and out["flagged"] == local["flagged"]
    assert got.keys() == expected.keys()
    diff = np.abs(np.array([got[k] for k in expected]) - np.array(list(expected.values())))
    assert diff.max() <= 1e-4, diff.max()
    again = score_batch_ray(store, batch, workers=workers)  # nothing left: idempotent
    assert again["scored_now"] == 0 and _scores(store, batch) == got


def test_an_interrupted_ray_run_resumes_where_it_stopped(store_with_model) -> None:
    from rsad.ops import ray_scoring

    store = store_with_model
    batch = _ingest(store, 90)
    seen: list[int] = []

    def interrupt(done: int, _total: int, _message: str) -> None:
        seen.append(done)
        if done >= 30:  # the first window is written: stop as a crash would
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ray_scoring.score_batch_ray(store, batch, window=30, progress=interrupt)
    kept = _scores(store, batch)
    assert len(kept) == 30
    out = ray_scoring.score_batch_ray(store, batch, window=30)
    assert out["scored_now"] == 60
    after = _scores(store, batch)
    assert len(after) == 90 and all(after[k] == v for k, v in kept.items())


def test_a_parquet_file_scores_into_parquet(store_with_model, tmp_path: Path) -> None:
    from rsad.ops.ray_scoring import score_file_ray

    store = store_with_model
    table = tiny_table(40)
    source = tmp_path / "big.parquet"
    table.to_parquet(source)
    out = score_file_ray(store, source, tmp_path / "scores", workers=1)  # the read and write tasks need a CPU too
    assert out["rows"] == 40
    scored = pd.read_parquet(tmp_path / "scores").set_index("case_id")["score"]
    from rsad.model.versions import active_version, load_classifier

    clf = load_classifier(store, active_version(store))
    local = clf.score(table["behavior_description"].tolist())
    assert np.abs(scored.loc[table["case_id"]].to_numpy() - local).max() <= 1e-4


def test_a_csv_without_the_text_column_is_refused(store_with_model, tmp_path: Path) -> None:
    from rsad.errors import InputError
    from rsad.ops.ray_scoring import score_file_ray

    source = tmp_path / "x.csv"
    pd.DataFrame({"case_id": ["a"], "words": ["hello"]}).to_csv(source, index=False)
    with pytest.raises(InputError, match="--text-col"):
        score_file_ray(store_with_model, source, tmp_path / "out")


def test_cli_score_engine_ray_is_a_job_in_the_panel(store_with_model, capsys: pytest.CaptureFixture) -> None:
    from rsad.cli.main import main
    from rsad.training import jobs

    batch = _ingest(store_with_model, 40)
    assert main(["score", batch, "--engine", "ray", "--workers", "2"]) == 0
    assert "40 scored now on Ray (2 workers)" in capsys.readouterr().out
    job = jobs.latest(store_with_model)
    assert job["status"] == "done" and job["params"]["kind"] == "score" and job["done"] == job["total"] == 40
    assert "Scored batch 'ray-batch' on Ray" in job["message"] and len(_scores(store_with_model, batch)) == 40


def test_a_failed_ray_scoring_run_is_marked_failed(store_with_model) -> None:
    from rsad.auth.users import User
    from rsad.errors import NotFoundError
    from rsad.service.scale import score_batch_on_ray
    from rsad.training import jobs

    with pytest.raises(NotFoundError):
        score_batch_on_ray(store_with_model, "no-such-batch", user=User("ana", "admin"))
    job = jobs.latest(store_with_model)
    assert job["status"] == "failed" and "no-such-batch" in job["error"] and job["finished_at"]


def test_a_training_job_runs_on_ray_when_the_address_is_set(store_with_model, monkeypatch) -> None:  # noqa: ANN001
    from rsad.auth.users import User
    from rsad.service import jobs

    monkeypatch.setenv("RSAD_RAY_ADDRESS", "local")  # the module's Ray, already started
    store = store_with_model
    from rsad.data.uploads import ingest_file

    ingest_file(store, tiny_table(48).to_csv(index=False).encode(), file_name="seed.csv", name="seed")
    params = jobs.RetrainParams(epochs=1, max_length=32)
    job = jobs.start(store, params, user=User("ana", "admin"), spawn=False)
    done = jobs.run(store, job["id"])
    assert done["status"] == "done", done["log"]
    assert "Training on Ray at local" in done["log"] and done["version_name"] == "v2"
    # a failure in the Ray task fails the job with the task's own error
    bad = jobs.start(store, jobs.RetrainParams(epochs=1, max_length=32, base_model="/no/such/model"),
                     user=User("ana", "admin"), spawn=False)
    failed = jobs.run(store, bad["id"])
    assert failed["status"] == "failed" and "RayTaskError" not in failed["error"], failed["error"]


def test_a_stop_request_ends_the_run_stopped_and_keeps_the_scores(store_with_model, monkeypatch) -> None:  # noqa: ANN001
    from rsad.auth.users import User
    from rsad.service.scale import score_batch_on_ray
    from rsad.training import jobs

    monkeypatch.setattr("rsad.ops.scoring.SCORE_CHUNK", 30)
    store = store_with_model
    batch = _ingest(store, 90)

    def stop_after_the_first_chunk(done: int, _total: int, _message: str) -> None:
        if done >= 30:  # what `rsad jobs stop` does: record who asked, then SIGTERM (raised as below)
            job = jobs.latest(store)
            jobs.set_fields(store, job["id"], params={**job["params"], jobs.STOPPED_BY: "root"})
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_batch_on_ray(store, batch, user=User("root", "admin"), window=30, progress=stop_after_the_first_chunk)
    job = jobs.latest(store)
    assert job["status"] == "stopped" and job["stopped_by"] == "root" and job["error"] == "", job["log"]
    assert len(_scores(store, batch)) == 30
