"""Fine-tune a BERT-style encoder as a binary anomaly classifier.

The loop is plain PyTorch (no Trainer): it is short, and we need our own progress
callback, class weighting and early stopping on validation PR-AUC.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from rsad.errors import InputError
from rsad.evaluation.drift import reference_profile, unknown_token_share
from rsad.evaluation.metrics import binary_metrics, default_threshold
from rsad.i18n import _
from rsad.model.card import TrainConfig, TrainResult
from rsad.model.classifier import Classifier, autocast, load_pretrained, pick_device, resolve_precision
from rsad.model.hf import hf
from rsad.progress import ProgressFn, no_progress
from rsad.review.trainset import data_hash
from rsad.training.blend import blend_validation


def split_table(table: pd.DataFrame, config: TrainConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded, stratified train/validation split."""
    from sklearn.model_selection import train_test_split

    counts = table["label"].value_counts()
    if len(counts) < 2:
        raise InputError(_("Training needs both anomalous (1) and normal (0) examples; only one class was given."))
    n_val_min = int(np.ceil(1 / config.val_fraction))
    if counts.min() < max(2, n_val_min):
        raise InputError(
            _("Too few examples of one class to split off validation ({counts}): give at least {n_val_min} of "
              "each class.").format(counts=counts.to_dict(), n_val_min=max(2, n_val_min))
        )
    train, val = train_test_split(table, test_size=config.val_fraction, random_state=config.seed,
                                  stratify=table["label"])
    return train.reset_index(drop=True), val.reset_index(drop=True)


GROUP_SPAN = 50  # batches per length group: random enough across groups, little padding within


def _batches(ids: list[list[int]], labels: np.ndarray, batch_size: int,
             rng: np.random.Generator,
             group_by_length: bool = False) -> Iterator[tuple[list[list[int]], torch.Tensor]]:
    """Shuffled batches. Grouped by length, each run of GROUP_SPAN batches is sorted by length
    before it is cut, then the batch order is shuffled again: batches hold texts of similar
    length, so padding (most of the compute on short texts) mostly disappears."""
    order = rng.permutation(len(ids))
    cuts = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if group_by_length:
        span = batch_size * GROUP_SPAN
        cuts = []
        for g in range(0, len(order), span):
            group = sorted(order[g : g + span], key=lambda i: len(ids[i]), reverse=True)
            cuts += [np.array(group[s : s + batch_size]) for s in range(0, len(group), batch_size)]
        cuts = [cuts[i] for i in rng.permutation(len(cuts))]
    for idx in cuts:
        yield [ids[i] for i in idx], torch.as_tensor(labels[idx], dtype=torch.long)


FUSED_ADAMW_DEVICES = ("cpu", "cuda")  # PyTorch checks fused support only at the first step()


def _adamw(groups: list[dict[str, Any]], lr: float) -> torch.optim.Optimizer:
    """AdamW with PyTorch's fused kernel (one pass over each weight, not a dozen elementwise
    ops: an eighth of a CPU training step before) on CPU and CUDA, the plain one elsewhere."""
    params = [p for g in groups for p in g["params"]]
    fused = all(p.device.type in FUSED_ADAMW_DEVICES and p.is_floating_point() for p in params)
    return torch.optim.AdamW(groups, lr=lr, fused=fused or None)


def _set_dropout(model: torch.nn.Module, p: float) -> None:
    """Every dropout of the model at ``p``: nn.Dropout modules, and the float rates some
    attention implementations read instead (BERT's SDPA attention in transformers 4.4x reads
    ``dropout_prob``, DeBERTa's StableDropout ``drop_prob``)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p
        for name in ("dropout_prob", "drop_prob"):
            if isinstance(getattr(module, name, None), float):
                setattr(module, name, p)


NO_DECAY = ("bias", "LayerNorm.weight", "layernorm", "layer_norm")  # parameters trained without weight decay


@dataclass
class _Training:
    """What the epochs share: the model on its device, the encoded data, loss, optimiser and schedule."""

    model: Any
    tokenizer: Any
    dev: torch.device
    clf: Classifier
    weights: list[torch.nn.Parameter]  # the trainable ones, for gradient clipping
    train_ids: list[list[int]]
    y_train: np.ndarray
    val_texts: list[str]
    y_val: np.ndarray
    loss_fn: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    total_steps: int
    step: int = 0  # optimiser steps taken so far


def _loss(config: TrainConfig, y_train: np.ndarray, dev: torch.device) -> torch.nn.Module:
    weight = None
    if config.class_weighting:
        # "balanced" weights: each class contributes equally to the loss.
        counts = np.bincount(y_train, minlength=2)
        weight = torch.tensor(len(y_train) / (2.0 * counts), dtype=torch.float32, device=dev)
    return torch.nn.CrossEntropyLoss(weight=weight)


def _param_groups(trainable: list[tuple[str, torch.nn.Parameter]], weight_decay: float) -> list[dict[str, Any]]:
    return [
        {"params": [p for n, p in trainable if not any(k in n for k in NO_DECAY)], "weight_decay": weight_decay},
        {"params": [p for n, p in trainable if any(k in n for k in NO_DECAY)], "weight_decay": 0.0},
    ]


def _prepare(config: TrainConfig, train_df: pd.DataFrame, val_df: pd.DataFrame, device: str) -> _Training:
    """The pretrained model on its device with the configured dropout and frozen parts, the data
    encoded, and the loss, optimiser and warm-up schedule."""
    (get_linear_schedule_with_warmup,) = hf("get_linear_schedule_with_warmup")
    model, tokenizer = load_pretrained(config.base_model)
    dev = pick_device(device)
    model.to(dev)
    _set_dropout(model, config.dropout)
    if config.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    # Validation scores pick the best epoch and the threshold: exact fp32 on the CPU (the
    # model changes every epoch, so an int8 copy would have to be remade each time), autocast on GPUs.
    precision = "fp32" if dev.type == "cpu" else resolve_precision("auto", dev)
    clf = Classifier(model=model, tokenizer=tokenizer, device=dev, max_length=config.max_length,
                     truncation=config.truncation, precision=precision)
    train_ids = clf.encode(train_df["text"].tolist())
    y_train = train_df["label"].to_numpy(dtype=int)
    optimizer = _adamw(_param_groups(trainable, config.weight_decay), config.learning_rate)
    total_steps = int(np.ceil(len(train_ids) / config.batch_size)) * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    return _Training(model=model, tokenizer=tokenizer, dev=dev, clf=clf, weights=[p for _, p in trainable],
                     train_ids=train_ids, y_train=y_train, val_texts=val_df["text"].tolist(),
                     y_val=val_df["label"].to_numpy(dtype=int), loss_fn=_loss(config, y_train, dev),
                     optimizer=optimizer, scheduler=scheduler, total_steps=total_steps)


def _train_epoch(t: _Training, config: TrainConfig, rng: np.random.Generator, epoch: int,
                 progress: ProgressFn) -> list[float]:
    """One pass over the training batches; the loss of each batch."""
    t.model.train()
    losses = []
    for batch_ids, batch_y in _batches(t.train_ids, t.y_train, config.batch_size, rng, config.group_by_length):
        input_ids, mask = t.clf.pad(batch_ids)
        with autocast(t.dev):
            logits = t.model(input_ids=input_ids, attention_mask=mask).logits
        loss = t.loss_fn(logits.float(), batch_y.to(t.dev))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(t.weights, config.max_grad_norm)
        t.optimizer.step()
        t.scheduler.step()
        t.optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        t.step += 1
        progress(t.step, t.total_steps, _("epoch {epoch}/{epochs}, loss {loss:.3f}").format(
            epoch=epoch, epochs=config.epochs, loss=np.mean(losses[-20:])))
    return losses


def _validate(t: _Training, config: TrainConfig, epoch: int,
              progress: ProgressFn) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """The transformer's validation scores and log-odds, and the scores' metrics at the threshold they suggest."""
    t.model.eval()
    scores, log_odds = t.clf.forward_encoded(t.clf.encode(t.val_texts), batch_size=64, progress=lambda d, n, _m:
                                             progress(t.step, t.total_steps,
                                                      _("epoch {epoch}/{epochs}, validating {done:,}/{n:,}").format(
                                                          epoch=epoch, epochs=config.epochs, done=d, n=n)))
    return scores, log_odds, binary_metrics(t.y_val, scores, default_threshold(t.y_val, scores))


def _epochs(t: _Training, config: TrainConfig, rng: np.random.Generator,
            progress: ProgressFn) -> tuple[dict[str, torch.Tensor], tuple[np.ndarray, np.ndarray],
                                           list[dict[str, float]]]:
    """Train epoch by epoch until the last or early stopping; the best epoch (highest validation
    PR-AUC) as its weights on the CPU and its validation (scores, log-odds), and every epoch's history."""
    best_state, best_scores, best_pr_auc, bad_epochs = None, None, -1.0, 0
    history: list[dict[str, float]] = []
    progress(0, t.total_steps, _("training"))
    for epoch in range(1, config.epochs + 1):
        losses = _train_epoch(t, config, rng, epoch, progress)
        val_scores, val_log_odds, val_metrics = _validate(t, config, epoch, progress)
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)),
                        "val_pr_auc": val_metrics["pr_auc"], "val_roc_auc": val_metrics["roc_auc"],
                        "val_f1": val_metrics["f1"]})
        if val_metrics["pr_auc"] > best_pr_auc:
            best_pr_auc, best_scores, bad_epochs = val_metrics["pr_auc"], (val_scores, val_log_odds), 0
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in t.model.state_dict().items()}
        else:
            bad_epochs += 1
            if config.early_stopping_patience and bad_epochs >= config.early_stopping_patience:
                progress(t.total_steps, t.total_steps, _("early stop after epoch {epoch}").format(epoch=epoch))
                break
    return best_state, best_scores, history


def run_epochs(config: TrainConfig, n_train: int) -> int:
    """The most epochs a run may take: ``config.epochs``, or more on a small training split, so
    that it can take ``config.min_steps`` optimizer steps (early stopping still ends it)."""
    per_epoch = max(1, int(np.ceil(n_train / config.batch_size)))
    return max(config.epochs, int(np.ceil(config.min_steps / per_epoch)))


def fine_tune(table: pd.DataFrame, config: TrainConfig, *, device: str = "auto",
              progress: ProgressFn = no_progress) -> TrainResult:
    """Train on a table with columns id, text, label (0/1); returns the best epoch's model."""
    config.validate()
    missing = {"id", "text", "label"} - set(table.columns)
    if missing:
        raise InputError(_("The training table lacks columns {missing}.").format(missing=sorted(missing)))
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train_df, val_df = split_table(table, config)
    run = replace(config, epochs=run_epochs(config, len(train_df)))
    t = _prepare(run, train_df, val_df, device)
    best_state, (val_probs, val_log_odds), history = _epochs(t, run, rng, progress)

    # The best epoch's weights and validation scores (no second scoring pass needed).
    t.model.load_state_dict(best_state)
    t.model.eval()
    progress(t.total_steps, t.total_steps, "fitting the bag of words beside it")
    # Everything after this line judges the version's own scores: the blend's, where it was kept.
    scores, lexical, evidence = blend_validation(
        config.lexical_blend, train_df["text"].tolist(), t.y_train, t.val_texts, t.y_val, val_probs, val_log_odds,
        class_weighting=config.class_weighting, seed=config.seed)
    threshold = default_threshold(t.y_val, scores)
    metrics: dict[str, Any] = dict(binary_metrics(t.y_val, scores, threshold))
    metrics["blend"] = evidence
    # What the version was validated on, for the foreign-batch check (rsad.evaluation.drift).
    metrics["reference"] = reference_profile(scores, threshold, unknown_token_share(
        t.train_ids, t.tokenizer.unk_token_id, t.tokenizer.all_special_ids))
    progress(t.total_steps, t.total_steps, "done")
    return TrainResult(
        model=t.model, tokenizer=t.tokenizer, config=config, metrics=metrics, threshold=threshold,
        data_hash=data_hash(table), train_ids=train_df["id"].astype(str).tolist(),
        val_ids=val_df["id"].astype(str).tolist(),
        class_counts={"normal": int((table["label"] == 0).sum()),
                      "anomaly": int((table["label"] == 1).sum())},
        history=history, seconds=time.monotonic() - started, device=str(t.dev), lexical=lexical,
    )
