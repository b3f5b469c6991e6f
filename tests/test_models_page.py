"""AppTest of the Models page: training set, versions, comparison, promote, roll back, retrain."""

import time
from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.model import versions
from rsad.model.card import read_card
from rsad.ops import lifecycle, scoring
from rsad.review import verdicts
from rsad.training import jobs as retrain

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def _users(users):
    """Sign-ins for the page: root is an admin, ana an analyst (tests/conftest.py)."""
    return users


def app(analyst: str | None = "root") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    if analyst:
        sign_in(at, analyst)
    at.switch_page("views/models.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def two_versions(store_with_model, tiny_model_dir):
    """v1 active; candidate v2 is the same weights at a lower threshold (flags more); verdicts on a queue."""
    store = store_with_model
    for name, n, labeled in (("seed", 20, True), ("queue", 24, False)):
        df = tiny_table(n)
        df["case_id"] = [f"{name[0]}{i:03d}" for i in range(n)]
        if not labeled:
            df = df.drop(columns=["is_anomaly"])
        uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name=f"{name}.csv"), name=name)
    scoring.score_batch(store, "queue")
    card = read_card(tiny_model_dir)
    with store.session() as s:
        ids = dict(s.execute(text("SELECT external_id, id FROM cases")).all())
        for i in range(14):
            verdicts.add_verdict(s, ids[f"q{i:03d}"], "anomaly" if i % 2 else "normal", analyst="ana")
        verdicts.add_verdict(s, ids["q003"], "normal", analyst="bo")
        v2 = versions.add_model_version(s, name="v2", folder=str(tiny_model_dir), base_model=card.base_model,
                                 train_config=card.train_config, data_hash=card.data_hash,
                                 metrics=card.metrics, threshold=0.05, created_by="bo")
        versions.add_model_event(s, v2, "register", actor="bo", reason="test")
    return store


def test_models_page_compares_promotes_and_rolls_back(two_versions):
    store = two_versions
    at = app()
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Cases"] == "34" and metrics["From verdicts"] == "14" and metrics["Conflicts settled"] == "1"
    frames = [d.value for d in at.dataframe]
    table = next(v for v in frames if "status" in v.columns and "ROC-AUC" in v.columns)
    assert list(table["name"]) == ["v2", "v1"]
    assert at.selectbox(key="compare_version").value == "v2"
    assert len(at.get("plotly_chart")) >= 2, "ROC and PR charts"
    # Same weights: the paired bootstrap cannot tell them apart, and says so first, in blue.
    assert any(i.value.startswith("v2 cannot be told apart from v1 on ") and "held-out cases" in i.value
               and "which contains 0" in i.value for i in at.info), [i.value for i in at.info]
    boot = next(v for v in frames if "ci" in v.columns)
    assert list(boot["metric"]) == ["PR-AUC", "ROC-AUC", "F1"]
    assert list(boot["ci"])[:2] == ["+0.000 … +0.000"] * 2 and list(boot["verdict"])[:2] == ["indistinguishable"] * 2
    compared = next(v for v in frames if "metric" in v.columns and "flagged_rate" in set(v["metric"]))
    f1 = compared.set_index("metric").loc["flagged_rate"]
    assert f1["delta"] == pytest.approx(f1["v2"] - f1["v1"]) and f1["delta"] > 0  # lower threshold flags more
    assert int(metrics["Flagged by v2"].replace(",", "")) >= int(metrics["Flagged by v1"].replace(",", ""))

    # A click on a disagreement row shows both versions' attributions for that case.
    at.session_state["disagree_eval"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    panels = [m.value for m in at.markdown if m.value.startswith("**Why")]
    assert panels == ["**Why v2 scores it so**", "**Why v1 scores it so**"]

    at.text_input(key="promote_reason").input("catches more on the queue")
    at.button(key="promote_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Promoted v2; v1 retired. Rescored" in s.value for s in at.success)
    assert versions.active_version(store).name == "v2"
    assert scoring.rescore_status(store) == {"model": "v2", "unreviewed": 0, "reviewed": 0}
    last = lifecycle.history(store)[0]
    assert (last["action"], last["version"], last["by"], last["reason"]) == (
        "promote", "v2", "root", "catches more on the queue")

    at.text_input(key="rollback_reason").input("too many alerts")
    at.button(key="rollback_submit").click().run()
    assert not at.exception and not at.error
    assert versions.active_version(store).name == "v1"
    assert lifecycle.history(store)[0]["action"] == "rollback"

    # A candidate registered while the page is open (a job finished) is selected for comparison,
    # although the selector had kept the retired v2, and it can be promoted from there.
    assert at.selectbox(key="compare_version").value == "v2"
    with store.session() as s:
        v1 = versions.get_model_version(s, "v1")
        versions.add_model_version(s, name="v3", folder=v1.folder, base_model=v1.base_model,
                                   train_config=v1.train_config, data_hash=v1.data_hash, metrics=v1.metrics,
                                   threshold=0.3, created_by="root")
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="compare_version").value == "v3"
    assert at.button(key="promote_submit") is not None


def test_actions_need_an_admin_and_a_reason(two_versions):
    at = app(analyst="ana")  # offered disabled with the reason, not refused on click (tests/test_policies.py)
    promote = at.button(key="promote_submit")
    assert promote.disabled and promote.help.startswith("Promoting a version needs the admin role")
    assert versions.active_version(two_versions).name == "v1"
    at = app()
    at.button(key="promote_submit").click().run()
    assert any("Give a reason" in e.value for e in at.error)
    assert versions.active_version(two_versions).name == "v1"


def test_retrain_form_starts_a_job_shown_in_the_sidebar_and_stop(two_versions):
    store = two_versions
    at = app()
    at.number_input(key="rt_epochs").set_value(1)
    at.number_input(key="rt_max_length").set_value(32)
    at.button(key="rt_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = retrain.latest(store)
    assert job["status"] in retrain.LIVE and job["created_by"] == "root" and job["params"]["max_length"] == 32
    assert any("Started training job" in s.value for s in at.success)
    assert any("Retraining" in m.value for m in at.sidebar.markdown)
    # Stop once the runner is up. A SIGTERM while Python is still importing kills it outright;
    # the reaper then finds the stop request and records the job stopped all the same.
    deadline = time.monotonic() + 240
    while retrain.get(store, job["id"])["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    at.button(key="stop_job").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    deadline = time.monotonic() + 120
    while retrain.get(store, job["id"])["status"] in retrain.LIVE and time.monotonic() < deadline:
        time.sleep(0.2)
    stopped = retrain.get(store, job["id"])
    assert stopped["status"] == "stopped" and stopped["stopped_by"] == "root", stopped["log"]
    assert "stop requested by root" in stopped["log"] and stopped["error"] == ""
    assert [v.name for v in versions.list_versions(store)] == ["v2", "v1"]
    at.run()
    assert not at.error, [e.value for e in at.error]  # stopped is not failed: nothing red, anywhere
    assert any("Retraining stopped by root at" in c.value and "no version registered" in c.value
               for c in at.sidebar.caption), [c.value for c in at.sidebar.caption]
    assert any("Retraining stopped by root" in i.value for i in at.info)


def test_models_page_says_the_verdict_in_chinese(two_versions):
    store = two_versions
    with store.session() as s:  # what a retraining job keeps with its version (rsad.training.versus)
        v2 = versions.get_model_version(s, "v2")
        versions.merge_metrics(s, v2.id, {"vs_active": {"against": "v1", "verdict": "better"}})
        v1 = versions.get_model_version(s, "v1")
        versions.merge_metrics(s, v1.id, {"vs_active": {"against": None, "skipped": "no active version"}})
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["_rsad_lang"] = "zh"
    sign_in(at.run(), "root")
    at.switch_page("views/models.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any(i.value.startswith("在 ") and "v2 与 v1 无法区分：PR-AUC +0.000" in i.value and "置信区间" in i.value
               for i in at.info), [i.value for i in at.info]
    frames = [d.value for d in at.dataframe]
    boot = next(v for v in frames if "ci" in v.columns)
    assert list(boot["verdict"])[:2] == ["无法区分"] * 2
    table = next(v for v in frames if "vs active" in v.columns).set_index("name")
    assert table.loc["v2", "vs active"] == "优于 v1" and table.loc["v1", "vs active"] == "未比较"
