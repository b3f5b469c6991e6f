"""A blended version end to end with the tiny model: saved, loaded, scored on every path, explained."""

import shutil
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import select

from conftest import tiny_table
from rsad.data import uploads
from rsad.data.orm import Case, Score
from rsad.errors import ModelError
from rsad.model import attributions, versions
from rsad.model import onnx as onnx_scoring
from rsad.model.card import read_card
from rsad.model.classifier import Classifier
from rsad.model.explain import explain
from rsad.model.lexical import LEXICAL_FILE
from rsad.ops import scoring

TEXTS = tiny_table(64)["behavior_description"].tolist()


@pytest.fixture()
def blend_dir(blend_model_dir, tmp_path):
    folder = tmp_path / "v1"
    shutil.copytree(blend_model_dir, folder, ignore=shutil.ignore_patterns(onnx_scoring.CACHE_FILE))
    return folder


def test_a_blend_is_saved_with_its_evidence_and_scores_as_its_formula(blend_dir):
    card = read_card(blend_dir)
    assert (blend_dir / LEXICAL_FILE).is_file() and card.metrics["blend"]["kept"]
    assert card.train_config["lexical_blend"] is True
    clf = Classifier.load(blend_dir, device="cpu", max_length=48, precision="fp32")
    lex = clf.lexical
    assert lex is not None and lex.evidence == card.metrics["blend"]
    probs, z = clf.forward_encoded(clf.encode(TEXTS))
    expected = 1 / (1 + np.exp(-(lex.blend.a * z + lex.blend.b * lex.log_odds(TEXTS) + lex.blend.c)))
    np.testing.assert_allclose(clf.score(TEXTS, batch_size=7), expected, atol=1e-9)
    with pytest.raises(ModelError, match="needs the texts"):
        clf.score_encoded(clf.encode(TEXTS))


def test_onnx_int8_and_pytorch_paths_agree_on_a_blend(blend_dir):
    exact = Classifier.load(blend_dir, device="cpu", max_length=48, precision="fp32")
    fast = Classifier.load(blend_dir, device="cpu", max_length=48, precision="auto")
    torch_int8 = Classifier.load(blend_dir, device="cpu", max_length=48, precision="int8")
    a, b, c = exact.score(TEXTS, batch_size=7), fast.score(TEXTS, batch_size=16), torch_int8.score(TEXTS)
    assert fast.precision == "onnx-int8" and fast.lexical is not None
    for other in (b, c):  # the tolerances of test_onnx_scoring for the transformer alone
        assert np.abs(a - other).max() < 0.05 and np.abs(a - other).mean() < 0.01


def test_old_versions_load_and_score_as_before(tiny_model_dir):
    assert not (tiny_model_dir / LEXICAL_FILE).exists()
    clf = Classifier.load(tiny_model_dir, device="cpu", max_length=48, precision="fp32")
    assert clf.lexical is None
    np.testing.assert_allclose(clf.score_encoded(clf.encode(TEXTS)), clf.forward_encoded(clf.encode(TEXTS))[0])


def test_blend_attributions_are_transformer_ig_plus_exact_linear_shares(blend_dir):
    clf = Classifier.load(blend_dir, device="cpu", max_length=48, precision="fp32")
    alone = replace(clf, lexical=None)  # the same transformer without the bag of words
    text = " and then ".join(TEXTS[1:5])  # past the 48 tokens the transformer reads
    expl, ig = explain(clf, text), explain(alone, text)
    lex = clf.lexical
    linear = lex.blend.b * (lex.log_odds([text])[0] - lex.intercept)
    assert expl.linear == pytest.approx(linear, abs=1e-9)
    assert expl.total == pytest.approx(lex.blend.a * ig.total + linear, abs=1e-6)
    assert expl.delta == pytest.approx(abs(lex.blend.a) * ig.delta, abs=1e-9)
    assert expl.score == pytest.approx(float(clf.score([text])[0]), abs=1e-5)
    assert ig.truncated and any(w.start >= ig.covered_chars for w in expl.words), "words past the 48 tokens"
    assert not expl.large_delta


def test_store_scoring_and_attribution_cache_use_the_blend(store, blend_dir, tmp_path):
    card = read_card(blend_dir)
    with store.session() as s:
        versions.add_model_version(s, name="v1", folder=str(blend_dir), base_model=card.base_model,
                                   train_config=card.train_config, data_hash=card.data_hash,
                                   metrics=card.metrics, threshold=card.threshold, created_by="test")
    csv = tmp_path / "b.csv"
    tiny_table(20).to_csv(csv, index=False)
    uploads.ingest_file(store, csv, name="b")
    version = versions.active_version(store)
    clf = versions.load_classifier(store, version)
    assert clf.lexical is not None
    scoring.score_batch(store, "b", classifier=clf)
    with store.session() as s:
        stored = dict(s.execute(select(Case.external_id, Score.score).join(Score, Score.case_id == Case.id)).all())
        case_id = s.scalar(select(Case.id).where(Case.external_id == "c001"))
    table = tiny_table(20)
    direct = clf.score(table["behavior_description"].tolist())
    np.testing.assert_allclose([stored[c] for c in table["case_id"]], direct, atol=1e-6)
    key = attributions.explanation_key(store, version, table["behavior_description"][0])
    assert key.endswith(":lex")
    attributions.explanation(store, case_id, clf, n_steps=8)
    assert attributions.cached_explanation(store, case_id, n_steps=8)["explanation"].linear != 0.0
