"""AppTest of app.py: the router, the sidebar and the overview on a real store and model."""

import threading
from pathlib import Path

from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.data import uploads
from rsad.model import versions
from rsad.ops import scoring

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_overview_shows_active_model_and_batch_counts(store_with_model, users, tmp_path):
    csv = tmp_path / "b.csv"
    tiny_table(10).to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="morning")
    scoring.score_batch(store_with_model, "morning")
    at = sign_in(AppTest.from_file(APP, default_timeout=120).run(), "ana")
    assert not at.exception and not at.error
    sidebar = " ".join(m.value for m in at.sidebar.markdown)
    assert "v1" in sidebar and "threshold" in sidebar
    assert any("Device: cpu" in c.value for c in at.sidebar.caption)
    assert at.sidebar.text[0].value == "Signed in as ana (analyst)"
    assert at.title[0].value == "Overview"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Batches"] == "1" and metrics["Cases"] == "10"
    frame = at.dataframe[0].value
    row = frame[frame["name"] == "morning"].iloc[0]
    assert row["rows"] == 10 and row["scored"] == 10


def test_empty_store_without_bootstrap_says_what_to_do(store, users):
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "ana")
    assert not at.exception
    assert any("No model in this project yet" in w.value for w in at.sidebar.warning)
    assert any("No batches in this project yet" in i.value for i in at.info)


def test_fresh_store_shows_bootstrap_progress_then_the_app(store, users, monkeypatch):
    monkeypatch.setenv("RSAD_BOOTSTRAP", "1")
    reported, release = threading.Event(), threading.Event()

    def fake_bootstrap(store, progress):
        progress(250, 1000, "Training the starter model: epoch 1/2")
        reported.set()
        release.wait(30)
        tiny = tiny_table(4).to_csv(index=False).encode()
        uploads.ingest_file(store, tiny, file_name="d.csv", name="demo-batch")
        return {"log": []}

    # the process's demo job (rsad.service.demo_server), which serve.py would have started already
    monkeypatch.setattr("rsad.service.demo_server.bootstrap", fake_bootstrap)
    monkeypatch.setattr("rsad.service.demo_server.follow_up",
                        lambda store, progress: {"explained": {"cases": 0, "computed": 0}, "job": None})
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "ana")
    assert not at.exception
    assert "store is empty" in at.markdown[0].value
    assert reported.wait(10)
    at.run()  # a reload re-attaches to the running job instead of starting another
    assert "store is empty" in at.markdown[0].value
    bar = at.get("progress")[0]
    assert bar.proto.value == 25 and "epoch 1/2" in bar.proto.text
    release.set()
    from views.common import bootstrap_job

    assert bootstrap_job().join(30).status == "done"
    at.run()
    assert not at.exception and at.title[0].value == "Overview"


def test_overview_and_cli_say_the_same_training_size(store_with_model, users, capsys):
    import argparse

    from rsad.cli.models import cmd_models

    m = versions.active_version(store_with_model).metrics
    assert m["n_train"] and m["n_val"]  # both parts exist, so a sum would differ from either
    at = sign_in(AppTest.from_file(APP, default_timeout=120).run(), "ana")
    trained = next(x for x in at.metric if x.label == "Trained on")
    assert (trained.value, trained.delta) == (f"{m['n_train']:,} cases", f"+{m['n_val']:,} validation")
    cmd_models(argparse.Namespace(history=5))
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("v1 "))
    assert f"{m['n_train']:,} cases (+{m['n_val']:,} validation)" in row
