"""The [CLS]-only last layer: same logits and gradients as the model, used only where it agrees."""

from __future__ import annotations

import logging
import weakref

import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
)

import rsad.model.explain
from rsad.errors import ModelError
from rsad.model import cls_forward
from rsad.model.classifier import Classifier
from rsad.model.explain import explain

TEXT = "Ordered 14 identical phone cases within 3 minutes, all 5-star reviews, same new account"


@pytest.fixture(scope="module")
def clf(tiny_model_dir) -> Classifier:
    return Classifier.load(tiny_model_dir, device="cpu", max_length=48)


@pytest.fixture(autouse=True)
def unchecked(monkeypatch):
    """rsad.model.explain checks a model's short path once: each test starts with none checked."""
    monkeypatch.setattr(rsad.model.explain, "_short_paths", weakref.WeakKeyDictionary())


def test_logits_and_input_gradients_match_the_model(clf):
    model = clf.model.eval()
    short = cls_forward.for_model(model)
    assert short is not None
    ids = torch.randint(1000, 20000, (3, 21), generator=torch.Generator().manual_seed(0))
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


def test_attributions_are_the_same_with_and_without_the_short_path(clf, monkeypatch, caplog):
    real, calls = cls_forward.for_model, []

    def counted(model):
        f = real(model)
        return lambda x: calls.append(len(x)) or f(x)

    monkeypatch.setattr(cls_forward, "for_model", counted)
    with caplog.at_level(logging.WARNING, logger="rsad.model.explain"):
        short = explain(clf, TEXT, n_steps=8)
    assert sum(calls) >= 8 and "full model" not in caplog.text  # the steps ran on the short path
    monkeypatch.setattr(cls_forward, "for_model", lambda model: None)
    rsad.model.explain._short_paths.clear()
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
    rsad.model.explain._short_paths.clear()
    with caplog.at_level(logging.WARNING, logger="rsad.model.explain"):
        got = explain(clf, TEXT, n_steps=8)
    assert "full model" in caplog.text
    assert max(abs(a.score - b.score) for a, b in zip(got.words, expected.words)) < 1e-4
    assert got.delta == pytest.approx(expected.delta, abs=1e-4)


def test_a_short_path_that_fails_is_not_used(clf, monkeypatch):
    expected = explain(clf, TEXT, n_steps=8)
    real = cls_forward.for_model
    for when in ("check", "steps"):
        def failing(model, when=when):
            f = real(model)

            def logits(x):
                if when == "check" or torch.is_grad_enabled():  # "steps": fails in the integration only
                    raise RuntimeError("an operation this device does not have")
                return f(x)
            return logits

        monkeypatch.setattr(cls_forward, "for_model", failing)
        rsad.model.explain._short_paths.clear()
        got = explain(clf, TEXT, n_steps=8)
        assert max(abs(a.score - b.score) for a, b in zip(got.words, expected.words)) < 1e-4, when
        assert rsad.model.explain._short_paths[clf.model] is None  # refused for this model from now on


def test_the_check_runs_once_per_model(clf, monkeypatch):
    real, made = cls_forward.for_model, []
    monkeypatch.setattr(cls_forward, "for_model", lambda model: made.append(model) or real(model))
    for text in (TEXT, "check out my channel", TEXT):
        explain(clf, text, n_steps=2)
    assert made == [clf.model]


def test_a_pass_failing_with_the_whole_model_too_keeps_the_short_path(clf, monkeypatch):
    """Out of memory, say: not the short path's fault, so the next case still gets it."""
    real, real_forward = cls_forward.for_model, clf.model.forward

    def failing_in_steps(model):
        f = real(model)
        return lambda x: (_ for _ in ()).throw(RuntimeError("out of memory")) if torch.is_grad_enabled() else f(x)

    def forward(*args, **kwargs):
        if torch.is_grad_enabled():
            raise RuntimeError("out of memory")
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(cls_forward, "for_model", failing_in_steps)
    monkeypatch.setattr(clf.model, "forward", forward)
    with pytest.raises(ModelError, match="out of memory"):
        explain(clf, TEXT, n_steps=8)
    assert rsad.model.explain._short_paths[clf.model] is not None
