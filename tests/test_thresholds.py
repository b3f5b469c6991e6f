"""Threshold choice: metrics against scikit-learn, every picker on hand-checked data, edge cases,
the evaluation set, saved history, the CLI, and the Thresholds page."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import metrics as skm
from streamlit.testing.v1 import AppTest
from test_cli import rsad

from conftest import sign_in, tiny_table
from rsad.auth.users import User
from rsad.data import uploads
from rsad.errors import InputError
from rsad.evaluation import evalset as evaluation
from rsad.evaluation import metrics
from rsad.model import versions
from rsad.ops import scoring
from rsad.review import labels, verdicts
from rsad.service import review as triage
from rsad.service import thresholds as th
from rsad.service.review import QueueFilter

# Hand-checked: negatives at .1 .2 .4, anomalies at .3 .6 .9.
Y = np.array([0, 0, 1, 0, 1, 1])
S = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.9])


def admin(name: str) -> User:
    return User(name, "admin")


def test_metrics_match_scikit_learn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    s = np.clip(0.35 * y + 0.65 * rng.random(300), 0, 1)
    m = metrics.at_threshold(y, s, 0.5)
    pred = (s >= 0.5).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred).ravel()
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (tp, fp, fn, tn)
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["fpr"] == pytest.approx(fp / (fp + tn))
    c = metrics.curves(y, s)
    assert skm.auc(c["roc"]["fpr"], c["roc"]["tpr"]) == pytest.approx(skm.roc_auc_score(y, s))
    assert c["roc"]["threshold"][0] == 1.0 and max(c["pr"]["threshold"]) <= 1.0


def test_at_threshold_on_the_hand_example():
    m = metrics.at_threshold(Y, S, 0.3)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (3, 1, 0, 2)
    assert m["precision"] == 0.75 and m["recall"] == 1.0 and m["fpr"] == pytest.approx(1 / 3)
    assert m["flagged_rate"] == pytest.approx(4 / 6)


@pytest.mark.parametrize("spec, expected", [
    ("max-f1", 0.3),          # F1 .857 at .3 beats .8 at .6
    ("precision=0.8", 0.6),   # .3 gives .75, .4 gives .667: the lowest with >= .8 is .6
    ("precision=1", 0.6),
    ("recall=1", 0.3),        # the highest threshold still catching all three
    ("recall=0.6", 0.6),
    ("fpr=0", 0.6),           # no negative at or above .6
    ("fpr=0.34", 0.3),        # one false alarm allowed: .3 flags only the .4 negative
    ("cost=1", 0.3),          # costs: .3 -> 1 (one FP), .6 -> 1 (one FN); lowest wins
    ("cost=10", 0.3),
    ("cost=0.1", 0.6),        # a miss is cheap: .6 costs 0.1
])
def test_pickers_on_hand_checked_examples(spec, expected):
    assert th.pick(th.parse_pick(spec), Y, S) == pytest.approx(expected)


def test_capacity_picker_fills_but_never_exceeds():
    batch = np.array([0.1, 0.5, 0.5, 0.7, 0.9])
    assert th.pick_capacity(batch, 2) == 0.7
    assert th.pick_capacity(batch, 3) == 0.7   # the tie at .5 would make 4
    assert th.pick_capacity(batch, 4) == 0.5
    assert th.pick_capacity(batch, 10) == 0.1
    nothing = th.pick_capacity(batch, 0)
    assert nothing > 0.9 and (batch >= nothing).sum() == 0
    # 400 a day out of 1,000 arriving: 40% of the batch sample, i.e. 2 of 5.
    assert th.pick_capacity(batch, 400, daily_volume=1000) == 0.7
    with pytest.raises(InputError, match="score it first"):
        th.pick_capacity(np.array([]), 3)


def test_edge_cases_one_class_ties_and_equal_scores():
    with pytest.raises(InputError, match="both classes"):
        th.pick(th.Pick("max-f1"), np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9]))
    with pytest.raises(InputError, match="Both classes"):
        metrics.curves(np.array([0, 0]), np.array([0.1, 0.2]))
    y, s = np.array([0, 1, 0, 1]), np.full(4, 0.5)
    assert th.pick(th.Pick("max-f1"), y, s) == 0.5
    assert th.pick(th.Pick("recall", 0.9), y, s) == 0.5
    nothing = th.pick(th.Pick("fpr", 0.1), y, s)
    assert nothing > 0.5 and metrics.at_threshold(y, s, nothing)["fpr"] == 0
    with pytest.raises(InputError, match="No threshold reaches precision 0.90"):
        th.pick(th.Pick("precision", 0.9), y, s)
    # Ties across classes: a threshold at the tie flags both.
    assert th.pick(th.Pick("fpr", 0.0), np.array([0, 1, 1]), np.array([0.4, 0.4, 0.8])) == 0.8


@pytest.mark.parametrize("spec, message", [
    ("precision", "needs a value"), ("precision=1.5", "between 0 and 1"), ("cost=-1", "positive"),
    ("capacity=2.5", "whole number"), ("best", "Unknown threshold picker"), ("max-f1=3", "takes no value"),
])
def test_bad_picker_specs(spec, message):
    with pytest.raises(InputError, match=message):
        th.parse_pick(spec)


def test_temperature_scaling_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 20000)
    y = (rng.random(20000) < p).astype(int)
    overconfident = metrics.apply_temperature(p, 0.5)
    t = metrics.fit_temperature(y, overconfident)
    assert t == pytest.approx(2.0, abs=0.1)  # logits were doubled: dividing by 2 undoes it
    before = metrics.reliability(y, overconfident)
    after = metrics.reliability(y, metrics.apply_temperature(overconfident, t))
    assert after["ece"] < before["ece"] / 3


def test_segment_table_and_own_thresholds():
    meta = [{"vertical": v} for v in ["a", "a", "b", "b", "a", "b"]]
    rows = {r["segment"]: r for r in th.segment_table(Y, S, meta, "vertical", 0.35, own_thresholds=True)}
    # a: y 0 0 1 at .1 .2 .6 -> flags .6 only; b: y 1 0 1 at .3 .4 .9 -> flags .4 .9.
    assert rows["a"]["precision"] == 1.0 and rows["a"]["recall"] == 1.0 and rows["a"]["fpr"] == 0
    assert rows["b"]["precision"] == 0.5 and rows["b"]["recall"] == 0.5 and rows["b"]["fpr"] == 1.0
    assert np.isnan(rows["a"]["own_threshold"])  # fewer than MIN_SEGMENT_CASES labels


def test_segment_numbers_a_segment_cannot_have_are_nan_not_zero():
    meta = [{"vertical": v} for v in ["quiet", "quiet", "mixed", "mixed", "mixed", "mixed"]]
    y, s = np.array([0, 0, 1, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.9])
    rows = {r["segment"]: r for r in th.segment_table(y, s, meta, "vertical", 0.5)}
    quiet = rows["quiet"]  # no anomalies, nothing flagged: precision, recall and F1 are 0/0
    assert all(np.isnan(quiet[k]) for k in ("precision", "recall", "f1")), quiet
    assert quiet["fpr"] == 0.0 and quiet["flagged_rate"] == 0.0
    assert rows["mixed"]["precision"] == 1.0 and rows["mixed"]["recall"] == pytest.approx(2 / 3)
    flagged_normals = {r["segment"]: r for r in th.segment_table(y, s, meta, "vertical", 0.15)}["quiet"]
    assert flagged_normals["precision"] == 0.0 and flagged_normals["f1"] == 0.0  # defined: 0 of 1 flagged
    assert np.isnan(flagged_normals["recall"])
    assert th.shown(float("nan"), ".3f") == "–" and th.shown(0.25, ".3f") == "0.250"


@pytest.fixture
def eval_store(store_with_model, tmp_path):
    """The tiny model's training file as a labeled batch (its validation quarter is evaluable),
    plus a scored unlabeled batch to be 'the latest batch'."""
    csv = tmp_path / "seed.csv"
    tiny_table(64).to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="seed")
    fresh = tiny_table(20).assign(case_id=lambda d: "n" + d["case_id"]).drop(columns="is_anomaly")
    fresh.to_csv(tmp_path / "today.csv", index=False)
    uploads.ingest_file(store_with_model, tmp_path / "today.csv", name="today")
    scoring.score_batch(store_with_model, "today")
    return store_with_model


def test_evaluation_set_is_validation_plus_verdicts_never_training(eval_store):
    ev = evaluation.collect(eval_store, [None])
    assert ev.sources == {"validation": 16, "verdict": 0}
    # A verdict on a training case does not make it evaluable; one on a new case does;
    # an "unsure" verdict gives no label.
    from rsad.data import store as q
    with eval_store.session() as s:
        rows = {f"{r['case_id']}@{r['batch']}": r["case_pk"] for r in labels.current_labels(s)}
        today = {c.external_id: c.id for c in q.get_batch(s, "today").cases}
    in_val = set(ev.keys)
    train_key = next(k for k in rows if k.endswith("@seed") and k not in in_val)
    verdicts.record_verdicts(eval_store, [rows[train_key]], "normal", analyst="ana")
    verdicts.record_verdicts(eval_store, [today["nc001"]], "anomaly", analyst="ana")
    verdicts.record_verdicts(eval_store, [today["nc002"]], "unsure", analyst="ana")
    ev2 = evaluation.collect(eval_store, [None])
    assert ev2.sources == {"validation": 16, "verdict": 1}
    assert "nc001@today" in ev2.keys and train_key not in ev2.keys and "nc002@today" not in ev2.keys
    assert ev2.labels[ev2.keys.index("nc001@today")] == 1


def test_too_few_labels_are_refused_clearly(store_with_model):
    with pytest.raises(InputError, match=r"Only 0 labeled cases .* \(at least 10 are needed"):
        evaluation.evaluate(store_with_model, [None])


def test_report_scores_once_then_reads_the_store(eval_store):
    rep = th.report(eval_store, None)
    assert len(rep.labels) == 16 and rep.batch == "today" and len(rep.batch_scores) == 20
    again = th.report(eval_store, None, progress=lambda *a: pytest.fail("rescored cached scores"))
    np.testing.assert_allclose(again.scores, rep.scores)
    assert rep.at(0.0)["batch_flagged"] == 20


def test_save_history_and_queue_follow(eval_store):
    rep = th.report(eval_store, None)
    old = rep.version.threshold
    t1 = rep.pick(th.Pick("capacity", 5))
    th.save(eval_store, None, t1, user=admin("mia"), method="capacity=5", reason="three analysts out")
    th.save(eval_store, None, 0.5, user=admin("ana"))
    hist = th.history(eval_store)
    assert [(h["who"], h["from"], h["to"], h["method"]) for h in hist] == [
        ("ana", t1, 0.5, "manual"), ("mia", old, t1, "capacity=5")]
    assert hist[1]["reason"] == "three analysts out"
    assert versions.active_version(eval_store).threshold == 0.5
    page = triage.queue(eval_store, QueueFilter())
    assert page.threshold == 0.5
    with pytest.raises(InputError, match="between 0 and 1"):
        th.save(eval_store, None, 1.7, user=admin("ana"))
    assert len(th.history(eval_store)) == 2


def test_cli_thresholds_prints_pickers_and_saves(eval_store, env):
    out = rsad(env, "thresholds", "--pick", "capacity=5", "--segment", "platform", "--save",
               "--reason", "test")
    assert out.returncode == 0, out.stderr
    for fragment in ["Evaluation set: 16 labeled cases", "max-f1", "precision=0.9", "capacity=5",
                     "Calibration: temperature", "By platform", "Chosen (capacity=5)", "Saved: v1"]:
        assert fragment in out.stdout
    hist = th.history(eval_store)
    assert hist[0]["who"].startswith("cli:") and hist[0]["method"] == "capacity=5"  # the shell's admin
    bad = rsad(env, "thresholds", "--pick", "precision=2")
    assert bad.returncode == 2 and "between 0 and 1" in bad.stderr and "Traceback" not in bad.stderr


APP = str(Path(__file__).resolve().parents[1] / "app.py")


def page_as(user: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    sign_in(at, user)
    at.switch_page("views/thresholds.py").run()
    return at


def test_thresholds_page_capacity_pick_moves_candidate_and_saves(eval_store, users):
    at = page_as("root")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) >= 2  # ROC and PR (and the reliability diagram)
    saved = versions.active_version(eval_store).threshold
    flagged = lambda: next(m for m in at.metric if m.label.startswith("Flagged in"))  # noqa: E731
    at.selectbox(key="th_picker").set_value("Analyst capacity").run()
    at.number_input(key="th_analysts").set_value(1).run()
    at.number_input(key="th_per_analyst").set_value(4).run()
    at.button(key="th_apply").click().run()
    assert not at.exception
    expected = th.pick_capacity(th.report(eval_store, None).batch_scores, 4)
    assert at.session_state["th_candidate"] == pytest.approx(expected)
    assert int(flagged().value) <= 4
    at.text_input(key="th_reason").input("one analyst today")
    at.button(key="th_save").click().run()
    assert not at.exception and not at.error
    assert versions.active_version(eval_store).threshold == pytest.approx(expected) != saved
    assert th.history(eval_store)[0]["method"] == "capacity=4" and th.history(eval_store)[0]["who"] == "root"
    assert len(at.get("arrow_data_frame") or at.dataframe) >= 2  # confusion matrix, history
    # The slider moves the candidate too.
    at.slider(key="th_slider").set_value(0.999).run()
    assert at.session_state["th_candidate"] == pytest.approx(0.999)


def test_saved_temperature_gives_the_case_view_a_probability(eval_store):
    rep = th.report(eval_store, None)
    cal = th.calibration(rep)
    assert cal["fitted_on"] == 16 and cal["before"]["ece"] >= 0
    with eval_store.session() as s:
        from rsad.data import store as q
        case_id = q.get_batch(s, "today").cases[0].id
    assert triage.case_view(eval_store, case_id).probability is None
    th.save_temperature(eval_store, None, 2.0, user=admin("root"))
    view = triage.case_view(eval_store, case_id)
    assert view.probability == pytest.approx(metrics.apply_temperature(view.score, 2.0))
    with pytest.raises(InputError, match="between 0.05 and 20"):
        th.save_temperature(eval_store, None, 0.0, user=admin("root"))


def test_picker_inputs_survive_switching_pickers(eval_store, users):
    at = page_as("ana")
    at.selectbox(key="th_picker").set_value("Analyst capacity").run()
    at.number_input(key="th_analysts").set_value(2).run()
    at.number_input(key="th_per_analyst").set_value(50).run()
    at.selectbox(key="th_picker").set_value("Target precision").run()
    at.number_input(key="th_precision").set_value(0.75).run()
    at.selectbox(key="th_picker").set_value("Max F1").run()
    at.selectbox(key="th_picker").set_value("Analyst capacity").run()
    assert not at.exception
    assert (at.number_input(key="th_analysts").value, at.number_input(key="th_per_analyst").value) == (2, 50)
    at.button(key="th_apply").click().run()
    assert at.session_state["th_method"] == "capacity=100"  # the kept inputs are the ones applied
    at.selectbox(key="th_picker").set_value("Target precision").run()
    assert at.number_input(key="th_precision").value == 0.75


def _figure(at, key: str) -> dict:
    chart = next(c for c in at.get("plotly_chart") if key in c.proto.id)
    return json.loads(chart.proto.spec)


def test_curve_markers_hover_with_their_name_threshold_and_metrics(eval_store, users):
    at = page_as("ana")
    saved = versions.active_version(eval_store).threshold
    at.slider(key="th_slider").set_value(0.25).run()
    rep = th.report(eval_store, None)
    for key, fields in (("th_roc", ("precision", "recall")), ("th_pr", ("fpr",))):
        curve, *marks = _figure(at, key)["data"]
        assert [m["name"] for m in marks] == ["saved", "candidate"]
        for mark, t in zip(marks, (saved, 0.25)):
            # Same hover as the curve (threshold first), headed by the mark's name.
            assert mark["hovertemplate"] == f"<b>{mark['name']}</b><br>{curve['hovertemplate']}"
            assert "threshold %{customdata[0]:.4f}" in mark["hovertemplate"]
            expected = rep.at(t)
            assert mark["customdata"][0] == pytest.approx([t, *(expected[f] for f in fields)])


def test_segment_table_shows_undefined_numbers_as_a_dash(eval_store, users):
    at = page_as("ana")
    at.selectbox(key="th_segment").set_value("platform").run()
    at.toggle(key="th_own").set_value(True).run()
    assert not at.exception
    table = next(d for d in at.dataframe if "segment" in d.value.columns)
    video = table.value.set_index("segment").loc["video"]  # the tiny table's normal cases only
    assert video["anomalies"] == 0 and np.isnan(video["recall"]) and np.isnan(video["own_threshold"])
    assert table.proto.placeholder == "–"  # drawn as a dash, not "None"
    assert any("– : the segment cannot have that number" in c.value for c in at.caption)


def test_analysts_explore_but_only_admins_save(eval_store, users):
    at = page_as("ana")
    assert not at.exception and len(at.get("plotly_chart")) >= 2
    for key, doing in (("th_save", "Saving a threshold"), ("th_save_temperature", "Saving a calibration temperature")):
        button = at.button(key=key)
        assert button.disabled and button.help.startswith(f"{doing} needs the admin role")
        assert any(doing in c.value and "ana is an analyst" in c.value for c in at.caption)
    saved = versions.active_version(eval_store)
    for key in ("th_save", "th_save_temperature"):  # a forged click changes nothing either
        at.button(key=key).proto.disabled = False
        at.button(key=key).click().run()
        assert not at.exception and versions.active_version(eval_store) == saved
    assert th.history(eval_store) == []


def test_thresholds_page_speaks_chinese(eval_store, users):
    at = AppTest.from_file(APP, default_timeout=180).run()
    sign_in(at, "ana")
    at.session_state["_rsad_lang"] = "zh"  # the sidebar's language switch, as chosen
    at.switch_page("views/thresholds.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "阈值" in [t.value for t in at.title]
    assert {"精确率", "召回率", "误报率", "标记率"} <= {m.label for m in at.metric}
    picker = at.selectbox(key="th_picker")
    assert picker.value == "Max F1" and "目标精确率" in picker.options  # the value stays the stable name
    assert at.button(key="th_apply").label == "应用" and at.slider(key="th_slider").label == "候选阈值"
    assert any(c.value.startswith("评估数据：") for c in at.caption)
    roc = _figure(at, "th_roc")
    assert roc["layout"]["xaxis"]["title"]["text"] == "误报率"
    assert [m["name"] for m in roc["data"][1:]] == ["已保存", "候选"]
    # The analyst's lock reason comes from the policies (translated elsewhere); the button is Chinese.
    assert at.button(key="th_save").label.startswith("将阈值 ")
