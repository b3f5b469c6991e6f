"""The first minute (decision 0028): the starter's logistic head, the demo with it, the fine-tuned
candidate promoted only when better, explanations that stop early, `rsad serve`, the cache walk."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, tiny_table
from rsad.model import versions
from rsad.model.card import STARTER_RECIPE, TrainConfig

pytestmark = pytest.mark.model


def _table(n: int = 64) -> pd.DataFrame:
    df = tiny_table(n)
    return pd.DataFrame({"id": df["case_id"], "text": df["behavior_description"], "label": df["is_anomaly"]})


def test_the_logistic_head_folder_reproduces_sklearns_probabilities(tmp_path):
    from rsad.config import embedded_base_model
    from rsad.model.classifier import Classifier, load_pretrained
    from rsad.model.registry import save_version
    from rsad.training import starter
    from rsad.training.fine_tune import split_table

    config = TrainConfig(base_model=embedded_base_model(), max_length=48, val_fraction=0.25, lexical_blend=False,
                         recipe=STARTER_RECIPE)
    table = _table()
    result = starter.fit_starter(table, config, device="cpu")
    folder, card = save_version(result, tmp_path, "v1")
    assert card.train_config["recipe"] == STARTER_RECIPE and card.metrics["recipe"] == STARTER_RECIPE

    # The same regression fitted here on the base encoder's pooled vectors, by sklearn alone.
    train_df, val_df = split_table(table, config)
    model, tokenizer = load_pretrained(embedded_base_model())
    base = Classifier(model=model.eval(), tokenizer=tokenizer, device=result.model.device, max_length=48)
    lr = starter.fit_head(starter.pooled(base, train_df["text"].tolist()), train_df["label"].to_numpy(), config)
    expected = lr.predict_proba(starter.pooled(base, val_df["text"].tolist()))[:, 1]

    saved = Classifier.load(folder, device="cpu", max_length=48, precision="fp32")
    got = saved.score(val_df["text"].tolist())
    assert np.allclose(got, expected, atol=1e-4), np.abs(got - expected).max()
    assert saved.score(["x"])[0] != 0.5, "the head is not the untrained zero head"


def _demo_store(monkeypatch: pytest.MonkeyPatch, *, candidate: bool):  # noqa: ANN202
    from rsad.service.batches import open_store

    monkeypatch.setenv("RSAD_DEMO_CANDIDATE", "1" if candidate else "0")
    return open_store()


def test_the_demo_scores_with_the_starter_explains_ahead_and_queues_the_fine_tune(env, monkeypatch):
    from rsad.ops.demo import DEMO_BATCH, bootstrap, follow_up
    from rsad.service import batches, review
    from rsad.service.review import QueueFilter

    store = _demo_store(monkeypatch, candidate=True)
    updates = []
    first = bootstrap(store, sizes=(120, 40), progress=lambda d, t, m: updates.append(m))
    active = versions.active_version(store)
    assert active.name == first["model"] == "v1" and active.train_config["recipe"] == STARTER_RECIPE
    assert any(STARTER_RECIPE in line and "F1" in line for line in first["log"]), first["log"]
    by_name = {b["name"]: b for b in batches.overview(store)["batches"]}
    assert by_name[DEMO_BATCH]["scored"] == 40

    done = follow_up(store, explain=4, spawn=False)
    assert done["explained"] == {"cases": 4, "computed": 4}
    job = done["job"]
    assert job["status"] == "queued" and job["params"]["promote_if_better"] is True
    assert job["params"]["score_batch"] == DEMO_BATCH and job["params"]["start_from"] == "base"
    # The walk from the top of the queue finds them cached, a step count of at most 50 under the default key.
    for pos in range(4):
        out = review.cached_explanation(store, review.queue_case_at(store, QueueFilter(), pos))
        assert out is not None and out["explanation"].n_steps <= 50 and out["explanation"].change != 0
    assert review.cached_explanation(store, review.queue_case_at(store, QueueFilter(), 4)) is None
    assert follow_up(store, explain=4, spawn=False) == {"explained": {"cases": 4, "computed": 0}, "job": None}
    store.dispose()


@pytest.mark.parametrize("verdict", ["better", "worse"])
def test_a_candidate_is_promoted_only_when_better_and_the_history_says_why(store_with_model, verdict):
    from rsad.ops.lifecycle import history
    from rsad.training.versus import KEY, NOT_PROMOTED, promote_if_better

    store = store_with_model
    v1 = versions.get_version(store, "v1")
    folder = store.settings.models_dir / "v2"
    shutil.copytree(v1.folder, folder)
    record = {"against": "v1", "n": 60, "anomalies": 12, "resamples": 1000, "confidence": 0.95, "seed": 0,
              "verdict": verdict, "pr_auc": {"delta": 0.1 if verdict == "better" else -0.1,
                                              "low": 0.05 if verdict == "better" else -0.2,
                                              "high": 0.2 if verdict == "better" else -0.05, "verdict": verdict}}
    with store.session() as s:
        versions.add_model_version(s, name="v2", folder=str(folder), base_model=v1.base_model,
                                   train_config=v1.train_config, data_hash="x", metrics={KEY: record},
                                   threshold=0.5, created_by="job")
    line = promote_if_better(store, versions.get_version(store, "v2"), actor="demo")
    event = history(store)[0]
    if verdict == "better":
        assert versions.active_version(store).name == "v2" and line.startswith("Promoted v2")
        assert event["action"] == "promote" and event["previous_active"] == "v1" and "better" in event["reason"]
    else:
        assert versions.active_version(store).name == "v1" and line.startswith("Not promoted v2")
        assert event["action"] == NOT_PROMOTED and "worse" in event["reason"]


def test_early_stop_uses_fewer_steps_when_converged_and_50_when_not(tiny_model_dir, monkeypatch):
    from rsad.model import explain as ex
    from rsad.model.classifier import Classifier

    clf = Classifier.load(tiny_model_dir, device="cpu", max_length=48)
    text = tiny_table(4)["behavior_description"].iloc[0]
    monkeypatch.setattr(ex, "CONVERGED", 10.0)  # any gap counts as converged: the first rung
    loose = ex.explain(clf, text, early_stop=True)
    first = ex.EARLY_STEPS[0]
    assert loose.n_steps == first < 50 and loose.steps_computed == first and loose.change != 0
    monkeypatch.setattr(ex, "CONVERGED", 0.0)  # none does: every rung, then the full count
    strict = ex.explain(clf, text, early_stop=True)
    assert strict.n_steps == 50 and strict.steps_computed == sum(ex.EARLY_STEPS) + 50
    assert strict.delta >= 0 and strict.delta == pytest.approx(abs(strict.total - strict.change), abs=1e-5)
    assert ex.explain(clf, text).n_steps == 50 and ex.step_ladder(50, False) == [50]


def test_rsad_serve_prepares_the_store_and_prints_the_password_once(env):
    run_env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "rsad.cli", "serve", "--no-server", "--port", "8599"]
    first = subprocess.run(command, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "created the admin user 'admin' with password" in first.stderr
    assert "http://localhost:8599" in first.stdout and (env / "rsad.sqlite3").is_file()
    second = subprocess.run(command, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0 and "with password" not in second.stderr
    assert "Sign in with your user" in second.stdout


def test_serve_command_runs_streamlit_on_serve_py():
    from rsad.cli.serve import streamlit_command

    command = streamlit_command(8600, "127.0.0.1")
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4].endswith("serve.py")
    assert command[command.index("--server.port") + 1] == "8600"


def test_the_server_starts_the_demo_once_per_process(env, monkeypatch):
    import threading

    from rsad.service import demo_server
    from rsad.service.batches import open_store

    monkeypatch.setenv("RSAD_BOOTSTRAP", "1")
    store = open_store()
    calls, release = [], threading.Event()

    def fake_bootstrap(store, progress):  # noqa: ANN001, ANN202
        calls.append(1)
        progress(500, 1000, "Training the starter model: reading the labeled cases")
        release.wait(30)
        return {"log": ["ready"]}

    monkeypatch.setattr(demo_server, "bootstrap", fake_bootstrap)
    monkeypatch.setattr(demo_server, "follow_up",
                        lambda store, progress: {"explained": {"cases": 0, "computed": 0}, "job": None})
    job = demo_server.start_demo(store)
    assert demo_server.start_demo(store) is job and demo_server.demo_job(store) is job
    release.set()
    assert job.join(30).status == "done" and calls == [1]
    store.dispose()
