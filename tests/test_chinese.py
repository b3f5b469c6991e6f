"""Chinese text end to end, on a tiny Chinese BERT built here (no download): ingest, train, score,
attributions merged into jieba words, rendering; the Chinese demo generator and `rsad demo --lang zh`."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from rsad.data.synth_zh import ANOMALY_TYPES, NORMAL_TYPES, make_zh_cases, make_zh_demo_tables
from rsad.model import words as segmentation
from rsad.model.attributions import _key

MIXED = "用户在5分钟内下单30次，疑似刷单 via app。评价：“五星好评，物流很快”"
RARE = "龘"  # a character the tiny vocabulary lacks: its token is [UNK]
VERDICT_WORDS = re.compile("刷单|刷量|外挂|作弊|机器人|虚假|垃圾|异常")
SMALL = dict(epochs=2, batch_size=16, max_length=128, learning_rate=1e-3, val_fraction=0.25,
             early_stopping_patience=0)


# --- words, without a model ------------------------------------------------------------------

def _pieces(text: str) -> tuple[list[tuple[int, int]], list[int], list[int | None]]:
    """Offsets as a BERT tokenizer gives them: one piece per Han character, per ASCII word, per mark."""
    spans = [m.span() for m in re.finditer(r"[\u4e00-\u9fff]|[A-Za-z0-9]+|[^\sA-Za-z0-9]", text)]
    return [(0, 0), *spans, (0, 0)], [1] + [0] * len(spans) + [1], [None, *range(len(spans)), None]


def test_han_characters_merge_into_jieba_words_and_scores_add_up():
    offsets, special, word_ids = _pieces(MIXED)
    scores = [0.0] + [1.0] * (len(offsets) - 2) + [0.0]
    merged = segmentation.merge_words(MIXED, offsets, special, word_ids, scores)
    texts = [w.text for w in merged]
    assert all(MIXED[w.start:w.end] == w.text for w in merged)
    for word in ("用户", "分钟", "下单", "刷单", "好评", "via", "app", "5", "30", "，"):
        assert word in texts, word
    assert dict((w.text, w.score) for w in merged)["刷单"] == 2.0, "a word's characters are summed"
    assert sum(w.score for w in merged) == sum(scores)


def test_text_without_han_never_loads_jieba(monkeypatch: pytest.MonkeyPatch):
    def refuse() -> None:
        raise AssertionError("jieba loaded for a text without Chinese")

    monkeypatch.setattr(segmentation, "_jieba", refuse)
    text = "placed 30 orders in 5 minutes, café"
    offsets, special, word_ids = _pieces(text)
    merged = segmentation.merge_words(text, offsets, special, word_ids, [0.5] * len(offsets))
    assert [w.text for w in merged][:3] == ["placed", "30", "orders"]


def test_jieba_loads_once_across_threads(monkeypatch: pytest.MonkeyPatch):
    import threading

    monkeypatch.setattr(segmentation, "_segmenter", None)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(segmentation._jieba())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(g is got[0] for g in got)


def test_cache_key_changes_for_chinese_text_only():
    assert _key(50, 128, "placed 30 orders") == "lig:n50:len128", "English attributions cached before stay valid"
    assert _key(50, 128, MIXED) == "lig:n50:len128:zh1"


# --- the Chinese demo generator --------------------------------------------------------------

def test_generator_shapes_balance_and_both_kinds_of_case():
    cases = make_zh_cases(300, anomaly_rate=0.4, seed=3)
    assert list(cases.columns) == ["case_id", "behavior_description", "is_anomaly", "persona", "vertical"]
    assert len(cases) == 300 and cases["is_anomaly"].sum() == 120 and cases["case_id"].is_unique
    anomalies = cases.loc[cases.is_anomaly == 1, "persona"].value_counts()
    assert set(anomalies.index) == set(ANOMALY_TYPES) and anomalies.max() - anomalies.min() <= 1
    assert set(cases.loc[cases.is_anomaly == 0, "persona"]) == set(NORMAL_TYPES)
    assert set(cases["vertical"]) == {"e-commerce", "video", "social", "games", "music"}
    text = cases["behavior_description"]
    assert text.str.contains("[\u4e00-\u9fff]").all() and not text.str.contains(r"\{|\}").any()
    assert not text.str.contains(VERDICT_WORDS).any(), "no sentence names the verdict"
    assert text.str.len().between(25, 140).all(), "short enough for 128 tokens, one per character"
    for pattern in ("分钟内", "五星", "链接", "重复播放", "胜率"):  # alarming-looking facts in both classes
        assert 0 < cases.loc[text.str.contains(pattern), "is_anomaly"].mean() < 1, pattern


def test_generator_is_deterministic_per_seed():
    first, again, other = (make_zh_cases(60, anomaly_rate=0.3, seed=s) for s in (5, 5, 6))
    pd.testing.assert_frame_equal(first, again)
    assert not first["behavior_description"].equals(other["behavior_description"])


def test_demo_tables_sizes_and_hidden_labels():
    labeled, unlabeled = make_zh_demo_tables(seed=7)
    assert len(labeled) == 2500 and len(unlabeled) == 1000
    assert round(labeled["is_anomaly"].mean(), 2) == 0.37
    assert list(unlabeled.columns) == ["case_id", "behavior_description"]
    assert not set(labeled["case_id"]) & set(unlabeled["case_id"])


def test_chinese_demo_hint_names_a_base_model_for_chinese(store):
    from rsad.ops.demo import base_model_lines

    lines = base_model_lines(store, "zh")
    assert "Base model of project default" in lines[0] and "--base-model FOLDER" in lines[1]
    assert len(base_model_lines(store, "en")) == 1
    from rsad.i18n import use_language

    with use_language("zh"):
        assert "基础模型" in base_model_lines(store, "zh")[0]


@pytest.mark.model
def test_chinese_demo_on_the_embedded_minilm_warns_of_unknown_tokens(store):
    from rsad.ops import demo
    from rsad.service import batches

    zh = batches.demo_store(store, user=_admin(store), lang="zh")
    assert zh.project_name == "demo-zh"
    log: list[str] = []
    demo._demo_data(zh, "zh", 7, (30, 10), log)
    assert log[0] == "Stored batch 'demo-seed': 30 records."
    assert "unknown to the vocabulary" in log[1] and "Chinese" in log[1], log
    assert len(log) == 3, "the warning is said once"


def _admin(store):  # noqa: ANN001, ANN202
    from rsad.service.users import cli_user

    return cli_user(store.settings, None)


# --- a tiny Chinese BERT, end to end ---------------------------------------------------------

@pytest.fixture(scope="module")
def zh_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT (hidden 32) with random weights and a character vocabulary of the data."""
    from tokenizers.implementations import BertWordPieceTokenizer
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("zh-bert")
    texts = list(make_zh_cases(400, anomaly_rate=0.4, seed=1)["behavior_description"]) + [MIXED]
    chars = {c for t in texts for c in t.lower() if not c.isspace()} - set(RARE)
    ascii_ = [chr(i) for i in range(33, 127) if not chr(i).isupper()]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += sorted(chars | set(ascii_)) + [f"##{c}" for c in ascii_ if c.isalnum()]
    ids = {token: i for i, token in enumerate(dict.fromkeys(vocab))}
    # Through the tokenizers library: BertTokenizerFast(vocab_file=...) reads no vocabulary in
    # transformers 5, and a tokenizer.json loads the same way in 4 and 5.
    backend = BertWordPieceTokenizer(ids, lowercase=True)
    BertTokenizerFast(tokenizer_object=backend._tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                      sep_token="[SEP]", mask_token="[MASK]").save_pretrained(folder)
    config = BertConfig(vocab_size=len(ids), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256)
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.mark.model
def test_chinese_text_through_the_service_layer(store, zh_bert: Path, tmp_path: Path):
    from sqlalchemy import select

    from rsad.data.orm import Attribution, Case
    from rsad.model.explain_render import top_words
    from rsad.model.words import _jieba
    from rsad.service import batches, models, projects, review

    projects.add_project(store, "zh", user=_admin(store), base_model=str(zh_bert))
    zh = store.in_project("zh")
    cases = make_zh_cases(80, anomaly_rate=0.5, seed=2)
    cases.loc[0, ["case_id", "behavior_description", "is_anomaly"]] = ["x1", MIXED + RARE + "刷单", 1]
    path = tmp_path / "zh.csv"
    cases.to_csv(path, index=False)
    batches.ingest_file(zh, path, name="zh-batch")
    version = models.train_file(zh, path, config=models.TrainConfig(**SMALL), created_by="test")
    assert models.active_version(zh).name == version.name
    assert batches.score_batch(zh, "zh-batch")["rows"] == 80

    clf = models.load_classifier(zh, version)
    tokens = clf.tokenizer.tokenize(MIXED)
    assert "[UNK]" not in tokens and "刷" in tokens, "a character vocabulary: every character is a token"
    with zh.session() as s:
        case_id = s.scalar(select(Case.id).where(Case.external_id == "x1"))
    out = review.explanation(zh, case_id, clf, n_steps=8)
    expl, text = out["explanation"], out["text"]
    texts = [w.text for w in expl.words]
    assert all(text[w.start:w.end] == w.text for w in expl.words)
    assert "刷单" in texts and "好评" in texts and "下单" in texts, texts
    jieba_words = {w for w, _, _ in _jieba().tokenize(text)}
    assert all(w in jieba_words for w in texts if segmentation.has_han(w)), "Han words are jieba's words"
    assert RARE in "".join(texts) and "[UNK]" in clf.tokenizer.tokenize(RARE), "[UNK] maps back to its character"
    assert abs(expl.total) > 0 and not expl.large_delta

    html = review.explanation_html(text, expl)
    assert re.search(r">刷单</span>", html) and ">好评</span>" in html
    top = [word for word, *_ in top_words(expl, k=12)]
    han_top = [w for w in top if segmentation.has_han(w)]
    assert han_top and all(w in jieba_words for w in han_top)
    assert sum(len(w) > 1 for w in han_top) >= len(han_top) / 2, "words, not single characters"

    assert review.cached_explanation(zh, case_id, n_steps=8)["cached"]
    with zh.session() as s:
        assert s.scalar(select(Attribution.settings_key)).endswith(":zh1")


@pytest.mark.model
def test_rsad_demo_lang_zh_on_a_chinese_bert(env, zh_bert: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    import rsad.cli.main as cli
    from rsad.model.card import TrainConfig
    from rsad.ops import demo
    from rsad.service import batches, projects

    # The demo's own recipe at a test's size: 120 labeled and 40 unlabeled cases, a few steps.
    monkeypatch.setitem(demo.DEMO_TABLES, "zh", lambda seed: (make_zh_cases(120, anomaly_rate=0.4, seed=seed),
                                                           make_zh_cases(40, anomaly_rate=0.1, seed=seed,
                                                                         id_prefix="n").iloc[:, :2]))
    monkeypatch.setattr(demo, "demo_train_config", lambda: TrainConfig(**SMALL))
    assert cli.main(["demo", "--lang", "zh", "--base-model", str(zh_bert)]) == 0
    out = capsys.readouterr().out
    assert f"Base model of project demo-zh: {zh_bert}" in out and "--base-model FOLDER" not in out
    assert "Stored batch 'demo-seed': 120 records." in out and "40 cases scored" in out
    assert "The demo is in project demo-zh" in out

    store = batches.open_store()
    info = {p.name: p for p in projects.list_projects(store)}
    assert info["demo-zh"].base_model == str(zh_bert) and info["demo-zh"].active_version == "v1"
    assert info["default"].batches == 0, "an English demo's project is left alone"

    assert cli.main(["demo", "--lang", "zh"]) == 0
    assert "not retraining" in capsys.readouterr().out
    assert cli.main(["demo", "--lang", "zh", "--base-model", str(env)]) == 2
    assert "already fine-tunes" in capsys.readouterr().err
