"""The lexical blend without a model: the bag of words, its file, the decision, its attributions."""

import json
from dataclasses import replace

import numpy as np
import pytest

from conftest import tiny_table
from rsad.errors import ModelError
from rsad.model import lexical as lx
from rsad.model.card import TrainConfig, VersionCard
from rsad.model.explain_blend import blended
from rsad.model.explanation import Explanation, WordAttribution
from rsad.training import blend
from rsad.training.fine_tune import run_epochs

pytestmark = pytest.mark.unit

TABLE = tiny_table(64)
TEXTS = TABLE["behavior_description"].tolist()
LABELS = TABLE["is_anomaly"].to_numpy()


def _fitted() -> lx.Lexical:
    model = blend.fit_lexical(TEXTS[:48], LABELS[:48])
    model.blend = lx.Blend(a=0.7, b=1.3, c=-0.2)
    return model


def test_the_bag_of_words_is_the_benchmarks_baseline():
    """Same tokens, tf-idf and regression as bench/quality.py's TF-IDF + LR (scikit-learn's own)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    ref = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                        LogisticRegression(C=10, max_iter=3000)).fit(TEXTS[:48], LABELS[:48])
    ours = blend.fit_lexical(TEXTS[:48], LABELS[:48])
    np.testing.assert_allclose(ours.log_odds(TEXTS), ref.decision_function(TEXTS), atol=1e-9)
    assert ours.log_odds(["zzz qqq"])[0] == pytest.approx(ours.intercept)  # no known word: the intercept


def test_word_contributions_add_up_exactly_and_split_bigrams():
    model = _fitted()
    text = "Check out my channel, check out my channel!"
    parts = model.contributions(text)
    assert [text[s:e] for s, e, _v in parts] == ["Check", "out", "my", "channel", "check", "out", "my", "channel"]
    total = sum(v for _s, _e, v in parts)
    assert total == pytest.approx(model.blend.b * (model.log_odds([text])[0] - model.intercept), abs=1e-12)
    # a repeated word gets the same share each time it occurs
    assert parts[0][2] == pytest.approx(parts[4][2]) and parts[3][2] == pytest.approx(parts[7][2])


def test_chinese_is_read_in_words_and_english_as_scikit_learn_reads_it():
    text = "好评返现，五星好评送红包 via app 30次"
    toks = [t for _s, _e, t in lx.tokens(text)]
    assert "好评" in toks and "返现" in toks and "红包" in toks  # jieba's words, not one token per clause
    assert "via" in toks and "app" in toks and "30" in toks and "次" in toks
    assert all(text[s:e].lower() == t for s, e, t in lx.tokens(text))  # spans point at the words
    zh = ["好评返现，加微信领红包", "五星好评返现红包", "物流很快，包装完好", "质量不错，物流很快"] * 4
    model = blend.fit_lexical(zh, np.array([1, 1, 0, 0] * 4))
    assert {"好评", "红包", "物流"} <= set(model.terms) and "好评返现" not in model.terms
    assert model.log_odds(["好评返现"])[0] > 0 > model.log_odds(["物流很快"])[0]


def test_saved_as_json_and_loaded_back(tmp_path):
    model = _fitted()
    assert lx.load(tmp_path) is None  # a version without the file: the transformer alone
    path = model.save(tmp_path)
    data = json.loads(path.read_text())  # plain JSON: inspectable, nothing to unpickle
    assert data["format"] == lx.LEXICAL_FORMAT and len(data["terms"]) == len(data["coef"]) == len(data["idf"])
    again = lx.load(tmp_path)
    assert again.blend == model.blend and again.config == model.config
    np.testing.assert_array_equal(again.log_odds(TEXTS), model.log_odds(TEXTS))
    z = np.linspace(-3, 3, len(TEXTS))
    np.testing.assert_allclose(again.scores(z, TEXTS),
                               1 / (1 + np.exp(-(0.7 * z + 1.3 * model.log_odds(TEXTS) - 0.2))), atol=1e-12)
    path.write_text(json.dumps({**data, "format": 99}))
    with pytest.raises(ModelError, match="format 99"):
        lx.load(tmp_path)
    path.write_text("{")
    with pytest.raises(ModelError, match="cannot be read"):
        lx.load(tmp_path)


def test_the_blend_is_kept_only_when_held_out_validation_says_so():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 100)
    weak = rng.normal(0, 1, 200) + 0.3 * y  # a transformer that barely separates
    strong = rng.normal(0, 1, 200) + 3.0 * y  # a bag of words that does
    kept, evidence = blend.choose(weak, strong, y)
    assert kept is not None and kept.b > 0 and evidence["kept"]
    assert evidence["log_loss_blend"] < evidence["log_loss_transformer"]
    noise = rng.normal(0, 1, 200)
    dropped, evidence = blend.choose(strong, noise, y)
    assert dropped is None and not evidence["kept"] and "log_loss_blend" in evidence
    few, evidence = blend.choose(weak[:103], strong[:103], y[:103])  # 3 anomalies: no evidence either way
    assert few is None and "only 3" in evidence["why"]


def test_blend_validation_off_or_on():
    probs, z = np.full(16, 0.5), np.zeros(16)
    scores, lexical, evidence = blend.blend_validation(False, TEXTS[:48], LABELS[:48], TEXTS[48:], LABELS[48:],
                                                      probs, z)
    assert lexical is None and scores is probs and not evidence["kept"]
    scores, lexical, evidence = blend.blend_validation(True, TEXTS[:48], LABELS[:48], TEXTS[48:], LABELS[48:],
                                                      probs, z)
    assert evidence["kept"] and lexical.evidence == evidence  # a transformer that knows nothing: the words win
    np.testing.assert_allclose(scores, lexical.scores(z, TEXTS[48:]))


def test_old_cards_blended_nothing_and_small_splits_get_more_epochs():
    card = VersionCard(name="v1", base_model="b", train_config={"epochs": 3}, data_hash="h", metrics={},
                       threshold=0.5, class_counts={}, train_ids=[], val_ids=[])
    assert not card.config.lexical_blend and card.config.min_steps == 0
    assert TrainConfig().lexical_blend
    config = TrainConfig()  # 16 per batch, at least 160 steps
    assert run_epochs(config, 200) == 13 and run_epochs(config, 800) == 4 and run_epochs(config, 3200) == 4
    assert run_epochs(replace(config, min_steps=0), 200) == 4


def _ig_explanation(text: str, covered: int) -> Explanation:
    words, pos = [], 0
    for k, w in enumerate(text[:covered].split()):
        start = text.index(w, pos)
        pos = start + len(w)
        words.append(WordAttribution(start=start, end=pos, text=w, score=0.1 * (k + 1)))
    return Explanation(words=words, delta=0.02, n_steps=50, method="lig", score=0.6, covered_chars=covered,
                       truncated=covered < len(text), seconds=0.0)


def test_blend_attributions_are_ig_scaled_plus_exact_linear_shares():
    model = _fitted()
    text = "check out my channel and subscribe for free gift cards"
    covered = text.index(" for")  # the transformer read up to "subscribe"
    ig = _ig_explanation(text, covered)
    out = blended(ig, model, text, transformer_log_odds=1.5)
    linear = sum(v for _s, _e, v in model.contributions(text))
    assert out.linear == pytest.approx(linear)
    assert out.total == pytest.approx(0.7 * ig.total + linear, abs=1e-12)
    assert out.delta == pytest.approx(0.7 * 0.02)
    assert out.score == pytest.approx(1 / (1 + np.exp(-(0.7 * 1.5 + 1.3 * model.log_odds([text])[0] - 0.2))))
    # words past what the transformer read carry their bag-of-words share alone
    assert [w.text for w in out.words if w.start >= covered] == ["for", "free", "gift", "cards"]
    by_word = {w.text: w.score for w in out.words}
    shares = {text[s:e]: v for s, e, v in model.contributions(text)}
    assert by_word["channel"] == pytest.approx(0.7 * 0.4 + shares["channel"])
    # the convergence gap is judged against Integrated Gradients' part of the total only
    assert out.total - out.linear == pytest.approx(0.7 * ig.total)
    tiny_ig = replace(out, linear=out.total - 0.01, delta=0.02)
    assert tiny_ig.large_delta  # a gap as big as IG's own part is large, however big the linear part
