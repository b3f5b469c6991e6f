"""A starter model in seconds: the frozen base encoder with a logistic-regression head.

Fine-tuning the encoder is what makes a first model slow on a CPU (minutes of backward
passes). A logistic regression on the pooled vector the classification head already reads
(the pooler output of [CLS] for BERT) needs one forward pass over the labeled cases and a
second of fitting. Its weights are then written into the sequence classifier's own head:
logits ``[0, w·h + b]`` give ``softmax[anomaly] = sigmoid(w·h + b)``, exactly the regression's
probability. The version folder is an ordinary one, so scoring (ONNX int8 included),
attributions, evaluation and promotion need nothing new (docs/decisions/0028-first-minute.md).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from rsad.errors import InputError, ModelError
from rsad.evaluation.drift import reference_profile, unknown_token_share
from rsad.evaluation.metrics import binary_metrics, default_threshold
from rsad.i18n import _
from rsad.model.card import STARTER_RECIPE, TrainConfig, TrainResult
from rsad.model.classifier import Classifier, anomaly_index, load_pretrained, pick_device
from rsad.progress import ProgressFn, no_progress
from rsad.review.trainset import data_hash
from rsad.training.blend import blend_validation
from rsad.training.fine_tune import split_table

RECIPE = STARTER_RECIPE
LOGISTIC_C = 1.0  # sklearn's default L2 strength; the pooled vectors are tanh outputs in [-1, 1]
EMBED_BATCH = 32
# The starter reads at most this many cases of each split (a stratified sample): the forward
# passes are its whole cost, and a logistic head on 384 features learns little more past a few
# hundred cases. The split itself is the fine-tune's (same seed), so the starter's validation
# cases are held out from both, and a fine-tuned candidate is compared with it on them.
MAX_TRAIN, MAX_VAL = 800, 300


def _sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """A stratified sample of ``n`` rows of ``frame`` (all of it when it has no more)."""
    from sklearn.model_selection import train_test_split

    if len(frame) <= n:
        return frame
    kept, _rest = train_test_split(frame, train_size=n, random_state=seed, stratify=frame["label"])
    return kept.reset_index(drop=True)


def head_of(model: Any) -> torch.nn.Linear:
    """The model's classification head when it is one linear layer on the pooled vector (BERT
    and its kin); other heads (RoBERTa's dense + projection) cannot hold a logistic regression."""
    head = getattr(model, "classifier", None)
    if not isinstance(head, torch.nn.Linear) or head.out_features != 2:
        raise ModelError(_("The base model's classification head is not one linear layer on a pooled vector: "
                           "the fast starter needs a BERT-style model (it will be fine-tuned instead)."))
    return head


def pooled(clf: Classifier, texts: list[str], *, progress: ProgressFn = no_progress) -> np.ndarray:
    """The vectors the classification head reads, one row per text (longest texts batched
    together, as scoring does, so padding stays small)."""
    head = head_of(clf.model)
    ids = clf.encode(texts)
    out = np.empty((len(ids), head.in_features), dtype=np.float64)
    seen: list[torch.Tensor] = []
    hook = head.register_forward_hook(lambda _m, args, _o: seen.append(args[0].detach()))
    order = np.argsort([len(r) for r in ids], kind="stable")[::-1]
    try:
        with torch.inference_mode():
            for start in range(0, len(ids), EMBED_BATCH):
                idx = order[start : start + EMBED_BATCH]
                input_ids, mask = clf.pad([ids[i] for i in idx])
                seen.clear()
                clf.model(input_ids=input_ids, attention_mask=mask)
                out[idx] = seen[0].float().cpu().numpy()
                progress(min(start + EMBED_BATCH, len(ids)), len(ids), _("reading the labeled cases"))
    finally:
        hook.remove()
    return out


def set_head(model: Any, coef: np.ndarray, intercept: float) -> None:
    """Write a logistic regression into the head: the anomaly row holds it, the other row is 0."""
    head = head_of(model)
    target = anomaly_index(model)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.weight[target] = torch.as_tensor(coef, dtype=head.weight.dtype)
        head.bias[target] = float(intercept)


def fit_head(x: np.ndarray, y: np.ndarray, config: TrainConfig) -> Any:
    """The logistic regression on pooled vectors, class-weighted like the fine-tune's loss."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=LOGISTIC_C, max_iter=2000,
                              class_weight="balanced" if config.class_weighting else None).fit(x, y)


def fit_starter(table: pd.DataFrame, config: TrainConfig, *, device: str = "cpu",
                progress: ProgressFn = no_progress) -> TrainResult:
    """The starter version of ``table`` (id, text, label): the same train/validation split,
    threshold rule, lexical blend and reference profile as :func:`rsad.training.fine_tune.fine_tune`."""
    config.validate()
    if not {"id", "text", "label"} <= set(table.columns):
        raise InputError(_("The training table lacks columns {missing}.").format(
            missing=sorted({"id", "text", "label"} - set(table.columns))))
    started = time.monotonic()
    train_df, val_df = split_table(table, config)
    train_df, val_df = _sample(train_df, MAX_TRAIN, config.seed), _sample(val_df, MAX_VAL, config.seed)
    model, tokenizer = load_pretrained(config.base_model)
    head_of(model)  # refused before the forward passes
    dev = pick_device(device)
    model.to(dev).eval()
    clf = Classifier(model=model, tokenizer=tokenizer, device=dev, max_length=config.max_length,
                     truncation=config.truncation, precision="fp32")
    texts = train_df["text"].tolist() + val_df["text"].tolist()
    x = pooled(clf, texts, progress=progress)
    x_train, x_val = x[: len(train_df)], x[len(train_df):]
    y_train, y_val = train_df["label"].to_numpy(dtype=int), val_df["label"].to_numpy(dtype=int)
    lr = fit_head(x_train, y_train, config)
    set_head(model, lr.coef_[0], float(lr.intercept_[0]))
    val_log_odds = lr.decision_function(x_val)
    val_probs = 1.0 / (1.0 + np.exp(-val_log_odds))
    scores, lexical, evidence = blend_validation(
        config.lexical_blend, train_df["text"].tolist(), y_train, val_df["text"].tolist(), y_val, val_probs,
        val_log_odds, class_weighting=config.class_weighting, seed=config.seed)
    threshold = default_threshold(y_val, scores)
    metrics: dict[str, Any] = dict(binary_metrics(y_val, scores, threshold))
    metrics["blend"] = evidence
    metrics["recipe"] = RECIPE
    metrics["reference"] = reference_profile(scores, threshold, unknown_token_share(
        clf.encode(train_df["text"].tolist()), tokenizer.unk_token_id, tokenizer.all_special_ids))
    progress(1, 1, _("done"))
    return TrainResult(
        model=model, tokenizer=tokenizer, config=replace(config, recipe=RECIPE), metrics=metrics, threshold=threshold,
        data_hash=data_hash(table), train_ids=train_df["id"].astype(str).tolist(),
        val_ids=val_df["id"].astype(str).tolist(),
        class_counts={"normal": int((table["label"] == 0).sum()), "anomaly": int((table["label"] == 1).sum())},
        history=[], seconds=time.monotonic() - started, device=str(dev), lexical=lexical)
