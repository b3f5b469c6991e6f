"""The [CLS]-only last layer: same logits and gradients as the model, used only where it agrees."""

from __future__ import annotations

import logging

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, DistilBertConfig, DistilBertForSequenceClassification

from rsad import cls_forward
from rsad.explain import explain
from rsad.model import Classifier

TEXT = "Ordered 14 identical phone cases within 3 minutes, all 5-star reviews, same new account"


@pytest.fixture(scope="module")
def clf(tiny_model_dir) -> Classifier:
    return Classifier.load(tiny_model_dir, device="cpu", max_length=48)


def test_logits_and_input_gradients_match_the_model(clf):
    model = clf.model.eval()
    short = cls_forward.for_model(model)
    assert short is not None
    ids = torch.randint(1000, 20000, (3, 21))
    ids[:, 0], ids[:, -1] = clf.tokenizer.cls_token_id, clf.tokenizer.sep_token_id
    emb = model.get_input_embeddings()(ids).detach()

    def grads(f):
        x = emb.clone().requires_grad_(True)
        logits = f(x)
        (g,) = torch.autograd.grad((logits[:, 1] - logits[:, 0]).sum(), x)
        return logits.detach(), g

    ours, our_grad = grads(short)
    theirs, their_grad = grads(lambda x: model(inputs_embeds=x, attention_mask=torch.ones_like(ids)).logits)
    assert (ours - theirs).abs().max() < 1e-5
    assert (our_grad - their_grad).abs().max() < 1e-5 * max(1.0, float(their_grad.abs().max()))


def test_only_bert_classifiers_get_the_short_path():
    tiny = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 100}
    assert cls_forward.for_model(BertForSequenceClassification(BertConfig(num_hidden_layers=2, **tiny))) is not None
    relative = BertForSequenceClassification(BertConfig(num_hidden_layers=2, **tiny))
    relative.config.position_embedding_type = "relative_key"  # transformers 4 computes more in this layer
    assert cls_forward.for_model(relative) is None
    distil = DistilBertForSequenceClassification(DistilBertConfig(n_layers=2, dim=32, n_heads=2, hidden_dim=64,
                                                                  vocab_size=100))
    assert cls_forward.for_model(distil) is None


def test_attributions_are_the_same_with_and_without_the_short_path(clf, monkeypatch):
    short = explain(clf, TEXT, n_steps=8)
    monkeypatch.setattr(cls_forward, "for_model", lambda model: None)
    full = explain(clf, TEXT, n_steps=8)
    assert [w.text for w in short.words] == [w.text for w in full.words]
    assert max(abs(a.score - b.score) for a, b in zip(short.words, full.words)) < 1e-4
    assert short.delta == pytest.approx(full.delta, abs=1e-4)
    assert short.score == pytest.approx(full.score, abs=1e-6)


def test_a_short_path_that_disagrees_is_not_used(clf, monkeypatch, caplog):
    expected = explain(clf, TEXT, n_steps=8)
    real = cls_forward.for_model

    def wrong(model):
        f = real(model)
        return lambda x: 2.0 * f(x)  # a variant computing something else

    monkeypatch.setattr(cls_forward, "for_model", wrong)
    with caplog.at_level(logging.WARNING, logger="rsad.explain"):
        got = explain(clf, TEXT, n_steps=8)
    assert "full model" in caplog.text
    assert max(abs(a.score - b.score) for a, b in zip(got.words, expected.words)) < 1e-4
    assert got.delta == pytest.approx(expected.delta, abs=1e-4)
