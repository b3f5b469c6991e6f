"""AppTest of the Upload, Review and Labels pages on a real store with a real (tiny) model."""

import threading
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.data import uploads
from rsad.model import versions
from rsad.ops import scoring
from rsad.review import reports
from rsad.review import verdicts as verdict_ops
from rsad.service import batches
from rsad.service import review as triage
from rsad.service.review import QueueFilter

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def _users(users):
    """Every page test signs in through the real form, as a user of a temporary user file."""
    return users


def app(page: str | None = None, user: str | None = "ana") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    if user:
        sign_in(at, user)
        assert not at.error, [e.value for e in at.error]
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def verdicts(store) -> pd.DataFrame:
    return reports.verdict_table(store)


def test_upload_preview_mapping_and_score(store_with_model):
    at = app("upload")
    assert any("Choose a file" in i.value for i in at.info)
    df = tiny_table(12).rename(columns={"behavior_description": "desc"})
    at.file_uploader(key="upload_file").upload("morning.csv", df.to_csv(index=False).encode(), "text/csv").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="map_text").value is None  # no default text column: no guess
    at.selectbox(key="map_text").set_value("desc")
    assert at.selectbox(key="map_label").value == "is_anomaly" and at.selectbox(key="map_id").value == "case_id"
    assert at.text_input(key="batch_name").value == "morning"
    at.button(key="score_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "12"
    batch = next(b for b in batches.overview(store_with_model)["batches"] if b["name"] == "morning")
    assert batch["scored"] == 12 and int(metrics["Flagged"].replace(",", "")) == batch["flagged"]
    assert len(at.get("plotly_chart")) == 1


def test_upload_attribution_count_is_of_the_flagged_cases(store_with_model, monkeypatch):
    from rsad.ops import precompute

    assert precompute.planned_cases(7, 20) == 7 and precompute.planned_cases(30, 20) == 20
    monkeypatch.setenv("RSAD_EXPLAIN_TOP", "20")  # the page's store is opened by the app: env
    # Held until the first caption is read, so it shows the count from before the job lists its cases.
    release, real = threading.Event(), precompute.precompute_explanations

    def held(*args, **kwargs):
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(precompute, "precompute_explanations", held)
    at = app("upload")
    at.file_uploader(key="upload_file").upload("noon.csv", tiny_table(12).to_csv(index=False).encode(),
                                               "text/csv").run()
    at.button(key="score_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    flagged = int(next(m for m in at.metric if m.label == "Flagged").value)
    assert 0 < flagged < 20, "the tiny model should flag some of the 12 cases"
    caption = next(c.value for c in at.caption if "attributions" in c.value.lower())
    assert caption.endswith(f"top {flagged} flagged cases in the background: 0 of {flagged} done."), caption
    release.set()
    state = at.session_state["precompute_job"].join(600)
    assert state.status == "done" and state.result["cases"] == flagged
    at.run()
    assert any(f"Attributions ready for the top {flagged} flagged cases." == c.value for c in at.caption)


def test_upload_shows_validation_errors_and_writes_nothing(store_with_model):
    at = app("upload")
    at.file_uploader(key="upload_file").upload("bad.csv", b"text,is_anomaly\nhello,maybe\n", "text/csv").run()
    at.selectbox(key="map_text").set_value("text").run()
    at.button(key="score_button").click().run()
    assert not at.exception
    # One value rsad does not know as a label: the page asks which means anomaly; Score without an answer refuses.
    assert at.radio(key="map_anomaly").options == ["maybe"]
    assert any("does not know as label values" in e.value for e in at.error)
    assert batches.overview(store_with_model)["totals"]["batches"] == 0
    at.file_uploader(key="upload_file").upload("bin.csv", b"\x00\x01\x02binary", "text/csv").run()
    assert any("looks binary" in e.value for e in at.error)


@pytest.fixture
def review_store(store_with_model, tmp_path):
    csv = tmp_path / "q.csv"
    tiny_table(10).to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="queue")
    scoring.score_batch(store_with_model, "queue")
    return store_with_model


def test_review_verdict_moves_to_the_next_case(review_store):
    at = app("review")
    assert not at.error, [e.value for e in at.error]
    assert "10 cases match" in at.caption[0].value
    first = at.subheader[0].value
    assert "1 of 10" in first
    # The keyboard shortcuts: our script in an iframe, with the verdict buttons' keys.
    assert any('"a": "verdict_anomaly"' in e.proto.srcdoc for e in at.get("iframe"))
    at.selectbox(key="verdict_reason").set_value("spam")
    at.text_area(key="verdict_note").input("two links <b>and</b> a burst")
    at.button(key="verdict_anomaly").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    v = verdicts(review_store)
    assert len(v) == 1 and v.iloc[0]["label"] == "anomaly" and v.iloc[0]["analyst"] == "ana"
    assert v.iloc[0]["reason_code"] == "spam" and v.iloc[0]["note"] == "two links <b>and</b> a burst"
    assert v.iloc[0]["threshold"] == pytest.approx(versions.active_version(review_store).threshold)
    assert "9 cases match" in at.caption[0].value
    assert at.subheader[0].value != first and "1 of 9" in at.subheader[0].value
    at.button(key="next_case").click().run()
    assert "2 of 9" in at.subheader[0].value
    at.button(key="prev_case").click().run()
    assert "1 of 9" in at.subheader[0].value


def test_review_requires_signing_in(review_store):
    at = app("review", user=None)
    assert at.button(key="login_submit") and at.title[0].value == "RSAD Review Desk"
    assert not [b for b in at.button if b.key == "verdict_normal"]  # the page never ran
    assert verdicts(review_store).empty


def test_a_removed_user_records_no_verdict(review_store, env):
    from rsad.auth.users import UserFile

    at = app("review")
    UserFile(env / "users.json").remove("ana")  # an admin removes ana while her case is open
    at.button(key="verdict_anomaly").click().run()  # the form callback runs before app.py's check
    assert not at.exception
    assert verdicts(review_store).empty
    assert at.button(key="login_submit")


def test_review_filters_and_attributions(review_store):
    at = app("review")
    assert at.get("plotly_chart"), "the top-tokens chart is shown"
    assert any("Layer Integrated Gradients" in c.value for c in at.caption)
    at.text_input(key="f_text").input("channel").run()
    assert "cases match" in at.caption[0].value and not at.error
    at.selectbox(key="f_status").set_value("reviewed").run()
    assert any("No cases match" in i.value for i in at.info)


def test_attributions_can_wait_for_the_verdict(review_store):
    at = app("review")
    at.toggle(key="attr_after_verdict").set_value(True).run()
    assert any("once you have recorded your verdict" in i.value for i in at.info)


def test_bulk_verdict_lists_the_selected_cases_and_writes_once(review_store):
    at = app("review")
    rows = triage.queue(review_store, QueueFilter()).rows
    # The page keeps the selection as case ids (the table's ticks are drawn from them).
    at.session_state["_selected"] = {r["id"]: r["external_id"] for r in rows[:3]}
    at.run()
    box = next(m.value for m in at.markdown if "Bulk verdict" in m.value)
    assert "3 selected cases" in box and all(r["external_id"] in box for r in rows[:3])
    at.radio(key="bulk_label").set_value("normal")
    at.selectbox(key="bulk_reason").set_value("benign")
    key = at.session_state["_bulk_key"]
    at.button(key="bulk_submit").click().run()
    v = verdicts(review_store)
    assert len(v) == 3 and set(v["label"]) == {"normal"} and set(v["case_pk"]) == {r["id"] for r in rows[:3]}
    assert not any("Bulk verdict" in m.value for m in at.markdown), "the selection is cleared after apply"
    # The same submission again (a second click on the drawn form) writes nothing.
    assert verdict_ops.record_verdicts(review_store, [r["id"] for r in rows[:3]], "normal", analyst="ana",
                                  submission=key) == 0
    assert len(verdicts(review_store)) == 3


def test_a_keyboard_or_mouse_verdict_records_only_a_chosen_reason(review_store, monkeypatch):
    at = app("review")
    assert at.selectbox(key="verdict_reason").value is None  # no reason until one is chosen
    at.button(key="verdict_normal").click().run()
    at.selectbox(key="verdict_reason").set_value("spam")
    at.button(key="verdict_anomaly").click().run()
    assert at.selectbox(key="verdict_reason").value is None  # the next case starts without one
    at.button(key="verdict_normal").click().run()
    v = verdicts(review_store).sort_values("id")
    assert list(v["reason_code"]) == ["", "spam", ""] and list(v["label"]) == ["normal", "anomaly", "normal"]


def test_a_reason_chosen_on_one_case_does_not_carry_to_the_next(review_store):
    at = app("review")
    at.selectbox(key="verdict_reason").set_value("spam")
    at.button(key="next_case").click().run()  # moved on without recording
    assert at.selectbox(key="verdict_reason").value is None
    at.button(key="verdict_normal").click().run()
    assert list(verdicts(review_store)["reason_code"]) == [""]


def test_a_desk_can_require_a_reason_for_anomaly_verdicts(review_store, monkeypatch):
    monkeypatch.setenv("RSAD_REQUIRE_REASON_FOR", "anomaly")
    at = app("review")
    at.text_area(key="verdict_note").input("same device, 12 orders")
    at.button(key="verdict_anomaly").click().run()
    assert any("needs a reason" in e.value for e in at.error)
    assert verdicts(review_store).empty
    assert at.text_area(key="verdict_note").value == "same device, 12 orders"  # kept for the retry
    at.button(key="verdict_normal").click().run()  # other labels stay optional
    assert len(verdicts(review_store)) == 1


def test_the_last_verdict_of_a_queue_has_its_toast_and_says_the_queue_is_done(review_store):
    at = app("review")
    rows = triage.queue(review_store, QueueFilter()).rows
    verdict_ops.record_verdicts(review_store, [r["id"] for r in rows[1:]], "normal", analyst="bo")
    at.button(key="next_case").click().run()  # any rerun: 1 case left
    assert "1 cases match" in at.caption[0].value or "1 case" in at.caption[0].value
    at.button(key="verdict_anomaly").click().run()
    assert any(rows[0]["external_id"] in t.value and "anomaly" in t.value for t in at.toast)
    assert any("Queue done" in s.value for s in at.success)
    assert not any("score the batch" in i.value for i in at.info)


def test_labels_page_filters_agreement_and_export(review_store):
    ids = [r["id"] for r in triage.queue(review_store, QueueFilter(status="all")).rows]
    verdict_ops.record_verdicts(review_store, ids[:3], "anomaly", analyst="ana", reason_code="spam")
    verdict_ops.record_verdicts(review_store, ids[:3], "anomaly", analyst="bo", reason_code="spam")
    verdict_ops.record_verdicts(review_store, ids[3:4], "normal", analyst="bo", reason_code="benign")
    at = app("labels")
    assert not at.exception and not at.error
    assert at.subheader[0].value == "Verdicts (7)"
    at.multiselect(key="l_analyst").set_value(["bo"]).run()
    assert at.subheader[0].value == "Verdicts (4)"
    tables = [d.value for d in at.dataframe]
    kappa = next(t for t in tables if "kappa" in t.columns)
    assert kappa.iloc[0]["shared_cases"] == 3 and kappa.iloc[0]["agreement"] == 1.0
    assert len(at.get("download_button")) == 2
