"""The fast paths of issue 6 give the same answers as the exact ones: int8 scoring, prefetched
chunked scoring, batched attributions, and the background attribution precompute."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from sqlalchemy import select

from conftest import sign_in, tiny_table
from rsad.config import get_settings
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.orm import Case, Score
from rsad.errors import ConfigError, InputError
from rsad.model import attributions, versions
from rsad.model.classifier import Classifier, resolve_precision
from rsad.model.explain import step_ladder
from rsad.ops import precompute, scoring
from rsad.ops.background import prefetch
from rsad.review import verdicts
from rsad.service import batches
from rsad.service import review as triage
from rsad.service.review import QueueFilter


@pytest.fixture(scope="module")
def exact(tiny_model_dir) -> Classifier:
    return Classifier.load(tiny_model_dir, device="cpu", max_length=48, precision="fp32")


@pytest.fixture(scope="module")
def fast(tiny_model_dir) -> Classifier:
    # PyTorch int8, by name: `auto` picks ONNX Runtime int8 when installed (test_onnx_scoring).
    return Classifier.load(tiny_model_dir, device="cpu", max_length=48, precision="int8")


def test_int8_scores_agree_with_fp32(exact, fast):
    assert exact.precision == "fp32" and exact.scoring_model is None
    assert fast.precision == "int8" and fast.scoring_model is None  # quantized on first use
    texts = tiny_table(64)["behavior_description"].tolist()
    a, b = exact.score(texts), fast.score(texts)
    kinds = {type(m).__module__ for m in fast.scoring_model.modules()}
    assert any("quantized" in k for k in kinds), "the scoring copy has quantized Linear layers"
    linear = {n for n, m in fast.scoring_model.named_modules() if type(m) is torch.nn.Linear}
    assert linear and all(n.endswith("output.dense") and "attention" not in n or "classifier" in n
                          or "pooler" in n for n in linear), "only the FFN outputs and the head stay fp32"
    assert any(type(m) is torch.nn.Linear for m in fast.model.modules()), "the fp32 model is untouched"
    assert np.abs(a - b).max() < 0.02
    labels = tiny_table(64)["is_anomaly"].to_numpy()
    from sklearn.metrics import roc_auc_score

    assert abs(roc_auc_score(labels, a) - roc_auc_score(labels, b)) <= 0.005


def test_precision_settings():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == "onnx-int8" and resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("INT8", cpu) == "int8"  # PyTorch dynamic quantization, by name
    assert resolve_precision("int8", torch.device("mps")) == "fp32"  # quantization is CPU-only here
    with pytest.raises(ConfigError, match="precision"):
        resolve_precision("fp8", cpu)
    s = get_settings({})
    assert s.score_precision == "auto" and s.explain_top == 20
    assert get_settings({"RSAD_SCORE_PRECISION": "FP32", "RSAD_EXPLAIN_TOP": "0"}).explain_top == 0
    with pytest.raises(ConfigError, match="RSAD_SCORE_PRECISION"):
        get_settings({"RSAD_SCORE_PRECISION": "half"})
    with pytest.raises(ConfigError, match="RSAD_EXPLAIN_TOP"):
        get_settings({"RSAD_EXPLAIN_TOP": "-1"})
    with pytest.raises(ConfigError, match="RSAD_SCORE_BATCH_SIZE"):
        get_settings({"RSAD_SCORE_BATCH_SIZE": "0"})  # zero stays refused where it means nothing


def test_score_encoded_matches_score(exact):
    texts = tiny_table(10)["behavior_description"].tolist()
    np.testing.assert_allclose(exact.score_encoded(exact.encode(texts), batch_size=3), exact.score(texts), atol=1e-6)
    assert exact.score([]).shape == (0,)


def test_prefetch_keeps_order_and_forwards_errors():
    assert list(prefetch(lambda: iter(range(7)), depth=2)) == list(range(7))

    def broken():
        yield 1
        raise InputError("row 3 is bad")

    got = []
    with pytest.raises(InputError, match="row 3"):
        for item in prefetch(broken):
            got.append(item)
    assert got == [1]
    produced = []

    def endless():
        i = 0
        while True:
            produced.append(i)
            yield i
            i += 1

    for item in prefetch(endless):
        if item == 2:
            break
    n = len(produced)
    threading.Event().wait(0.3)
    assert len(produced) == n <= 5, "an abandoned producer stops"


def test_chunked_scoring_matches_direct_scoring(store_with_model, tmp_path, monkeypatch):
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 7)  # several prefetched chunks
    csv = tmp_path / "b.csv"
    table = tiny_table(30)
    table.to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="b")
    seen = []
    # fp32: int8 scores depend slightly (~0.01) on which texts share a batch (the activation
    # range is measured per batch), and this test compares chunked with unchunked exactly.
    version = versions.active_version(store_with_model)
    clf = Classifier.load(version.folder, device="cpu", max_length=48, precision="fp32", name="v1")
    out = scoring.score_batch(store_with_model, "b", classifier=clf, progress=lambda d, t, m: seen.append(d))
    assert out["scored_now"] == 30 and seen[-1] == 30 and seen == sorted(seen)
    direct = clf.score(table["behavior_description"].tolist())
    with store_with_model.session() as s:
        rows = s.execute(select(Case.external_id, Score.score).join(Score, Score.case_id == Case.id)).all()
    stored = dict(rows)
    np.testing.assert_allclose([stored[c] for c in table["case_id"]], direct, atol=1e-6)


def test_background_precompute_fills_the_attribution_cache(store_with_model, tmp_path):
    csv = tmp_path / "b.csv"
    tiny_table(24).to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="b")
    result = scoring.score_batch(store_with_model, "b")
    assert result["flagged"] >= 3
    clf = versions.load_classifier(store_with_model, versions.active_version(store_with_model))
    top = precompute.top_flagged(store_with_model, result["batch_id"], 3)
    scores = sorted(result["scores"], reverse=True)
    version = versions.active_version(store_with_model)
    with store_with_model.session() as s:
        got = [q.scores_for_cases(s, version.id, [c])[c] for c in top]
    assert got == pytest.approx(scores[:3]) and min(got) >= version.threshold

    state = precompute.start_precompute(store_with_model, result["batch_id"], clf, 3).join(300)
    assert state.status == "done", state.error
    assert state.result == {"cases": 3, "computed": 3} and (state.done, state.total) == (3, 3)
    for cid in top:
        out = attributions.explanation(store_with_model, cid, clf)
        # the default setting stops early once converged (decision 0028): one of its rungs, cached as the default
        assert out["cached"] and out["explanation"].n_steps in step_ladder(attributions.EXPLAIN_STEPS, True)
    again = precompute.precompute_explanations(store_with_model, result["batch_id"], clf, 3)
    assert again == {"cases": 3, "computed": 0}, "cached cases are not recomputed"


def test_queue_counts_match_the_rows_under_every_filter(store):
    """The count is assembled from a cached scored count and a verdict-driven reviewed count;
    it must equal the number of rows the queue itself returns."""
    import pandas as pd
    from sqlalchemy import text

    from rsad.data.ingest import load_batch
    from rsad.review.work_queue import QueueFilter

    batches = []
    for name in ("a", "b"):
        df = pd.DataFrame({"case_id": [f"{name}{i}" for i in range(15)],
                           "behavior_description": [f"case {i} {'spam' if i % 3 else 'calm'}" for i in range(15)],
                           "country": ["CN", "US", "DE"] * 5})
        batches.append(uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name=f"{name}.csv"),
                                      name=name)["id"])
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m", base_model="b", train_config={}, data_hash="h",
                                metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids[:-3], [(i % 10) / 10 for i in range(len(ids) - 3)])  # 3 never scored
    verdicts.record_verdicts(store, ids[:6], "anomaly", analyst="ana")
    verdicts.record_verdicts(store, ids[3:8], "normal", analyst="bo")
    verdicts.record_verdicts(store, ids[20:22], "unsure", analyst="bo")
    # One open case per analyst: bo has a reviewed case open, cy and dee unreviewed ones.
    for cid, who in ((ids[4], "bo"), (ids[10], "cy"), (ids[25], "dee")):
        assert triage.claim_case(store, cid, who)["mine"]
    filters = [QueueFilter(status=st, verdict=vd, batch_id=b, score_min=lo, text_contains=tc,
                           meta_key="country" if mv else None, meta_value=mv, viewer=who)
               for st in ("unreviewed", "reviewed", "all") for vd in (None, "normal", "anomaly")
               for b in (None, batches[1]) for lo, tc, mv in ((0.0, "", None), (0.5, "spam", None), (0.0, "", "US"))
               for who in (None, "ana", "bo")]
    for f in filters:
        page = triage.queue(store, f, limit=1000)
        assert page.total == len(page.rows), f
    # Each analyst's queue skips what the others have open, never their own case.
    shown = {w: {r["id"] for r in triage.queue(store, QueueFilter(status="all", viewer=w), limit=1000).rows}
             for w in (None, "ana", "bo")}
    assert shown[None] - shown["ana"] == {ids[4], ids[10], ids[25]}
    assert shown[None] - shown["bo"] == {ids[10], ids[25]}
    page = triage.queue(store, QueueFilter(status="all"), limit=5)
    assert [triage.queue_case_at(store, QueueFilter(status="all"), i, page) for i in range(7)] == \
        [triage.queue_case_at(store, QueueFilter(status="all"), i) for i in range(7)]
    # A verdict changes the next count at once, through the cache.
    before = triage.queue(store, QueueFilter()).total
    verdicts.record_verdicts(store, [triage.queue_case_at(store, QueueFilter(), 0)], "normal", analyst="cy")
    assert triage.queue(store, QueueFilter()).total == before - 1
    # "uncertain" pages walk the score index outward from the threshold: same order as a full sort.
    every = triage.queue(store, QueueFilter(status="all"), limit=1000).rows
    expected = [r["id"] for r in sorted(every, key=lambda r: (abs(r["score"] - 0.5), r["id"]))]
    for offset in (0, 3, 11):
        got = triage.queue(store, QueueFilter(status="all", sort="uncertain"), offset=offset, limit=4).rows
        assert [r["id"] for r in got] == expected[offset:offset + 4]
    assert triage.queue_case_at(store, QueueFilter(status="all", sort="uncertain"), 5) == expected[5]


def test_cli_score_caches_the_top_flagged_attributions(store_with_model, tmp_path, monkeypatch):
    import os
    import subprocess
    import sys

    csv = tmp_path / "night.csv"
    tiny_table(12).to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="night")
    out = subprocess.run([sys.executable, "-m", "rsad.cli.main", "score", "night", "--explain-top", "2"],
                         env={**os.environ}, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "Attributions cached for the top 2 flagged cases (2 computed now)" in out.stdout
    batch = next(b for b in batches.overview(store_with_model)["batches"] if b["name"] == "night")
    for cid in precompute.top_flagged(store_with_model, batch["id"], 2):
        assert attributions.cached_explanation(store_with_model, cid) is not None


def test_review_page_explains_the_next_cases_ahead(store_with_model, users, tmp_path, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("RSAD_EXPLAIN_AHEAD", "2")  # the page's store is opened by the app: env

    csv = tmp_path / "q.csv"
    tiny_table(8).to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="queue")
    scoring.score_batch(store_with_model, "queue")
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300).run()
    sign_in(at, "ana")
    at.switch_page("views/review.py").run()
    assert not at.exception, at.exception
    state = at.session_state["_explain_ahead"].join(600)
    assert state.status == "done", state.error
    assert state.result == {"cases": 2, "computed": 2}
    ids = [r["id"] for r in triage.queue(store_with_model, QueueFilter(), limit=3).rows]
    assert all(attributions.cached_explanation(store_with_model, cid) is not None for cid in ids)
    at.button(key="verdict_anomaly").click().run()  # the next case opens from the cache
    assert not at.exception and any("from cache" in c.value for c in at.caption)
    assert at.session_state["_explain_ahead"].join(600).status == "done"  # nothing left running


def _top_case(store, tmp_path):  # noqa: ANN001, ANN202
    """A scored batch: the active classifier and the id of the queue's first case."""
    csv = tmp_path / "top.csv"
    tiny_table(6).to_csv(csv, index=False)
    uploads.ingest_file(store, csv, name="top")
    scoring.score_batch(store, "top")
    clf = versions.load_classifier(store, versions.active_version(store))
    return clf, triage.queue(store, QueueFilter()).rows[0]["id"]


def test_one_case_asked_twice_at_once_is_computed_once(store_with_model, tmp_path, monkeypatch):
    """A page and the explain-ahead job asking for the same case: one computes, the other waits
    for the lock and reads the cache (never two attribution passes at once)."""
    import time

    from rsad.model import explain as ex

    clf, cid = _top_case(store_with_model, tmp_path)
    running, overlaps, real = [0], [], ex.explain

    def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        running[0] += 1
        overlaps.append(running[0])
        time.sleep(0.3)  # long enough for the other thread to arrive meanwhile
        try:
            return real(*args, **kwargs)
        finally:
            running[0] -= 1

    monkeypatch.setattr(ex, "explain", counted)
    out: list[dict] = []
    threads = [threading.Thread(target=lambda: out.append(attributions.explanation(store_with_model, cid, clf)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert sorted(o["cached"] for o in out) == [False, True]
    assert overlaps == [1]
    assert out[0]["explanation"].words == out[1]["explanation"].words


def test_long_texts_are_explained_in_several_passes(exact, monkeypatch):
    """Steps x tokens per pass stay under MAX_POSITIONS_PER_PASS (memory); same attributions."""
    from captum.attr import LayerIntegratedGradients

    from rsad.model import explain as ex

    passes: list[int] = []
    real = LayerIntegratedGradients.attribute

    def spy(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        passes.append(kwargs["internal_batch_size"])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LayerIntegratedGradients, "attribute", spy)

    text = " ".join(["order now cheap deal click link"] * 12)
    whole = ex.explain(exact, text, n_steps=20, internal_batch_size=20)
    small = ex.MAX_POSITIONS_PER_PASS
    try:
        ex.MAX_POSITIONS_PER_PASS = 48 * 5  # 48 tokens: 5 steps per pass, 4 passes
        split = ex.explain(exact, text, n_steps=20)
    finally:
        ex.MAX_POSITIONS_PER_PASS = small
    assert passes == [20, 5]  # the whole text in one pass, then 5 steps per pass
    assert [w.score for w in split.words] == pytest.approx([w.score for w in whole.words], abs=1e-5)


def test_an_unwanted_request_computes_nothing(store_with_model, tmp_path):
    """A page run the analyst has already left (``wanted`` says no) does not compute or cache."""
    from rsad.errors import Superseded

    clf, cid = _top_case(store_with_model, tmp_path)
    with pytest.raises(Superseded):
        attributions.explanation(store_with_model, cid, clf, wanted=lambda: False)
    assert attributions.cached_explanation(store_with_model, cid) is None
    assert not attributions.explanation(store_with_model, cid, clf, wanted=lambda: True)["cached"]
    assert attributions.explanation(store_with_model, cid, clf, wanted=lambda: False)["cached"]  # cached: no question
