"""End to end on a real MiniLM: fine-tune a few steps, score, reload the saved version, same scores."""

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import tiny_table
from rsad.data import uploads
from rsad.errors import ConfigError, InputError, ModelError
from rsad.evaluation import evalset
from rsad.model import versions
from rsad.model.card import TrainConfig, read_card
from rsad.model.classifier import Classifier, pick_device
from rsad.model.registry import clean_partial, next_version_name, save_version
from rsad.ops import scoring
from rsad.review.trainset import assemble, data_hash
from rsad.training import train
from rsad.training.fine_tune import split_table


def test_saved_version_reloads_to_the_same_scores(tiny_model_dir):
    card = read_card(tiny_model_dir)
    assert (tiny_model_dir / "model.safetensors").exists()
    assert not list(tiny_model_dir.glob("*.bin"))
    assert card.label_map == {"0": "normal", "1": "anomaly"}
    assert len(card.val_ids) == 16 and len(card.train_ids) == 48
    assert not set(card.val_ids) & set(card.train_ids)
    assert {"f1", "roc_auc", "pr_auc", "precision", "recall"} <= set(card.metrics)
    assert len(card.history) >= 1 and card.config.max_length == 48

    texts = tiny_table(64)["behavior_description"].tolist()
    a = Classifier.load(tiny_model_dir, device="cpu", max_length=48)
    b = Classifier.load(tiny_model_dir, device="cpu", max_length=48)
    sa, sb = a.score(texts, batch_size=7), b.score(texts, batch_size=64)
    assert sa.shape == (64,) and np.all((sa >= 0) & (sa <= 1))
    np.testing.assert_allclose(sa, sb, atol=1e-5)  # batch size and padding do not change a score
    one_by_one = np.array([a.score([t])[0] for t in texts[:5]])
    np.testing.assert_allclose(one_by_one, sa[:5], atol=1e-5)
    labels = tiny_table(64)["is_anomaly"].to_numpy()
    # It learned the easy split: anomalies score higher on average.
    assert sa[labels == 1].mean() > sa[labels == 0].mean()


def test_progress_is_reported(tiny_model_dir):
    seen = []
    Classifier.load(tiny_model_dir, device="cpu").score(["a", "b", "c"], batch_size=2,
                                                        progress=lambda d, t, m: seen.append((d, t)))
    assert seen == [(0, 3), (2, 3), (3, 3)]


def test_split_is_stratified_seeded_and_refuses_one_class():
    df = tiny_table(40).rename(columns={"case_id": "id", "behavior_description": "text", "is_anomaly": "label"})
    cfg = TrainConfig()
    tr1, va1 = split_table(df, cfg)
    tr2, va2 = split_table(df, cfg)
    assert list(va1["id"]) == list(va2["id"]) and len(va1) == 8 and va1["label"].sum() == 4
    with pytest.raises(InputError, match="both anomalous"):
        split_table(df[df["label"] == 1], cfg)
    with pytest.raises(InputError, match="Too few examples"):
        split_table(pd.concat([df[df["label"] == 0], df[df["label"] == 1].head(2)]), cfg)
    assert data_hash(df) == data_hash(df.sample(frac=1, random_state=3))
    with pytest.raises(InputError, match="epochs"):
        TrainConfig(epochs=0).validate()


def test_save_is_atomic_and_never_overwrites(tiny_model_dir, tmp_path):
    class Boom:
        def save_pretrained(self, path, **kw):
            (path / "partial.bin").write_text("half")
            raise OSError("disk full")

    result = type("R", (), {})()
    card = read_card(tiny_model_dir)
    for k, v in {"model": Boom(), "tokenizer": None, "config": card.config, "metrics": {}, "threshold": 0.5,
                 "data_hash": "h", "train_ids": [], "val_ids": [], "class_counts": {}, "history": [],
                 "seconds": 0.0, "device": "cpu"}.items():
        setattr(result, k, v)
    with pytest.raises(OSError, match="disk full"):
        save_version(result, tmp_path, "v3")
    assert list(tmp_path.iterdir()) == []  # no folder, no temporary left behind
    (tmp_path / "v3").mkdir()
    with pytest.raises(ModelError, match="already exists"):
        save_version(result, tmp_path, "v3")
    (tmp_path / ".v4-abc").mkdir()
    assert [p.name for p in clean_partial(tmp_path)] == [".v4-abc"]
    assert next_version_name(["v1", "v2"], tmp_path) == "v4"


def test_device_choice():
    assert pick_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto").type in {expected, "mps"}
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            pick_device("cuda")


def test_unloadable_model_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        Classifier.load(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="Cannot load model"):
        Classifier.load(tmp_path / "empty")


@pytest.mark.slow
def test_train_from_store_registers_and_scores(store, tmp_path):
    """The whole path through the API: ingest, train, register, score, evaluate."""
    csv = tmp_path / "tiny.csv"
    tiny_table(64).to_csv(csv, index=False)
    uploads.ingest_file(store, csv, name="seed")
    cfg = TrainConfig(epochs=1, max_length=48, learning_rate=1e-4, val_fraction=0.25, truncation="head_tail",
                      min_steps=0)
    assert train.start_truncation(store, None) == "head"  # from the base model: rsad's default
    steps = []
    info = train.train_table(store, assemble(store).table(), config=cfg,
                           progress=lambda d, t, m: steps.append((d, t)))
    assert info.name == "v1" and info.status == "active"
    assert steps[0] == (0, 3) and steps[-1] == (3, 3)
    # The setting travels with the version: scoring reads it, a continued version inherits it.
    assert versions.load_classifier(store, versions.get_version(store, "v1")).truncation == "head_tail"
    assert train.start_truncation(store, "v1") == "head_tail"
    scored = scoring.score_batch(store, "seed")
    assert scored["scored_now"] == 64 and len(scored["scores"]) == 64
    assert scoring.score_batch(store, "seed")["scored_now"] == 0  # nothing left to do
    ev = evalset.evaluate_file(store, csv)
    assert ev["metrics"]["n"] == 64 and 0 <= ev["metrics"]["roc_auc"] <= 1


def test_head_tail_truncation_keeps_the_start_and_the_end(tiny_model_dir):
    from rsad.model.classifier import kept_positions

    assert kept_positions(10, 10, "head_tail") is None  # fits: nothing cut
    assert kept_positions(12, 10, "head") == [0, 1, 2, 3, 4, 5, 6, 7, 8, 11]
    assert kept_positions(12, 10, "head_tail") == [0, 1, 2, 3, 4, 5, 6, 7, 8, 11][:3] + [5, 6, 7, 8, 9, 10, 11]

    clf = Classifier.load(tiny_model_dir, device="cpu", max_length=16, truncation="head_tail")
    text = "alpha " + "filler " * 40 + "omega"
    ids = clf.encode([text, "short one"])
    tok = clf.tokenizer
    assert len(ids[0]) == 16 and ids[0][0] == tok.cls_token_id and ids[0][-1] == tok.sep_token_id
    words = tok.convert_ids_to_tokens(ids[0])
    assert words[1] == "alpha" and words[-2] == "omega"  # the head reads the start, the tail the end
    assert ids[1] == tok("short one")["input_ids"]  # short texts are untouched
    head = Classifier.load(tiny_model_dir, device="cpu", max_length=16)
    assert "omega" not in tok.convert_ids_to_tokens(head.encode([text])[0])
    with pytest.raises(InputError, match="truncation"):
        TrainConfig(truncation="middle").validate()
    with pytest.raises(ModelError, match="unknown truncation 'tail'"):  # a hand-edited card
        Classifier.load(tiny_model_dir, device="cpu", truncation="tail")
    with pytest.raises(ModelError, match="truncation"):
        kept_positions(12, 10, "tail")


def test_word_embeddings_stay_pretrained_unless_asked_and_dropout_is_a_setting(tiny_model_dir):
    """The default run keeps the word-embedding matrix as pretrained (cheaper steps) and trains
    the rest; the dropout used while training is the config's, config.json keeps the base's."""
    import json
    from dataclasses import replace

    from rsad.config import embedded_base_model
    from rsad.model.classifier import load_pretrained
    from rsad.training.fine_tune import fine_tune

    base, _ = load_pretrained(embedded_base_model())
    tuned = Classifier.load(tiny_model_dir, device="cpu").model
    assert torch.equal(tuned.get_input_embeddings().weight, base.get_input_embeddings().weight)
    layer = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(tuned.state_dict()[layer], base.state_dict()[layer])
    card = read_card(tiny_model_dir)
    assert card.config.freeze_word_embeddings and card.train_config["dropout"] == TrainConfig.dropout
    saved = json.loads((tiny_model_dir / "config.json").read_text())
    assert saved["hidden_dropout_prob"] == base.config.hidden_dropout_prob
    # A card from before the setting existed trained every weight, and says so.
    old = {k: v for k, v in card.train_config.items() if k not in ("freeze_word_embeddings", "dropout")}
    assert not replace(card, train_config=old).config.freeze_word_embeddings
    assert replace(card, train_config=old).config.dropout == 0.1

    df = tiny_table(24)
    table = pd.DataFrame({"id": df["case_id"], "text": df["behavior_description"], "label": df["is_anomaly"]})
    config = TrainConfig(base_model=embedded_base_model(), epochs=1, max_length=32, learning_rate=1e-3,
                         val_fraction=0.25, freeze_word_embeddings=False, dropout=0.2, min_steps=0)
    result = fine_tune(table, config, device="cpu")
    assert not torch.equal(result.model.get_input_embeddings().weight, base.get_input_embeddings().weight)
    assert {m.p for m in result.model.modules() if isinstance(m, torch.nn.Dropout)} == {0.2}
    # Float rates read by some attention implementations instead of a Dropout module follow too.
    from rsad.training.fine_tune import _adamw, _set_dropout

    holder = torch.nn.Module()
    holder.dropout_prob = 0.1
    _set_dropout(holder, 0.3)
    assert holder.dropout_prob == 0.3
    weights = [torch.nn.Parameter(torch.zeros(2))]
    assert _adamw([{"params": weights}], 1e-3).defaults["fused"]  # fused on the CPU
    with pytest.raises(InputError, match="Dropout"):
        TrainConfig(dropout=1.0).validate()
