"""The forward pass that scores and also keeps each text's pooled vector: the vector the
classification head reads (BERT's pooler output, DistilBERT's pre-classifier output, RoBERTa's
[CLS] state). Similar cases (rsad.ops.similar) compare cases by it: it is what the model itself
used to decide, so neighbours are cases the model sees alike.

The PyTorch paths (fp32, PyTorch int8, GPU autocast) read it with a forward pre-hook on the
head; the ONNX int8 graph returns it as a second output (rsad.model.onnx exports it that way).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from rsad.i18n import _
from rsad.progress import ProgressFn, no_progress

HEADS = ("classifier", "score")  # the head's attribute on transformers' sequence classifiers


def anomaly_index(model: Any) -> int:
    """The logit position of the anomaly label (rsad's label map puts it at 1)."""
    return int(getattr(model.config, "label2id", {}).get("anomaly", 1))


def head_of(model: Any) -> torch.nn.Module | None:
    """The classification head module of a (possibly quantized) sequence classifier."""
    for name in HEADS:
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            return head
    return None


def head_input(args: tuple[Any, ...]) -> torch.Tensor:
    """The head's input as one vector per row: RoBERTa-style heads take the whole sequence and
    read its first position themselves."""
    x = args[0]
    return x[:, 0] if x.dim() == 3 else x


@contextlib.contextmanager
def capture_pooled(model: Any) -> Iterator[list[torch.Tensor]]:
    """While open, every forward of ``model`` run by this thread appends the head's input to the
    yielded list (nothing for a model without a known head, or one that is not a torch module).
    Only this thread's: the same fp32 model also serves attributions in other threads meanwhile."""
    seen: list[torch.Tensor] = []
    head = head_of(model)
    if head is None:
        yield seen
        return
    owner = threading.get_ident()

    def keep(_module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if threading.get_ident() == owner:
            seen.append(head_input(args).detach())

    handle = head.register_forward_pre_hook(keep)
    try:
        yield seen
    finally:
        handle.remove()


def forward(clf: Any, ids: list[list[int]], *, batch_size: int = 32,
            progress: ProgressFn = no_progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(anomaly), anomaly log-odds, pooled vectors as float32 rows) per row of token ids, for a
    loaded ``rsad.model.classifier.Classifier`` (not imported here: it imports this module),
    longest first in padded batches (that module explains why)."""
    n = len(ids)
    out, log_odds = np.empty(n, dtype=np.float64), np.empty(n, dtype=np.float64)
    vectors: np.ndarray | None = None
    if n == 0:
        return out, log_odds, np.empty((0, 0), dtype=np.float32)
    order = np.argsort([len(r) for r in ids], kind="stable")[::-1]
    target = anomaly_index(clf.model)
    model = clf._scorer()
    done = 0
    progress(0, n, _("scoring"))
    with torch.inference_mode(), clf._autocast(), capture_pooled(model) as seen:
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            input_ids, mask = clf.pad([ids[i] for i in idx])
            result = model(input_ids=input_ids, attention_mask=mask)
            logits = result.logits.float()
            pooled = getattr(result, "pooled", None)
            pooled = pooled if pooled is not None else (seen.pop() if seen else None)
            if pooled is not None:
                if vectors is None:
                    vectors = np.zeros((n, pooled.shape[-1]), dtype=np.float32)
                vectors[idx] = pooled.float().cpu().numpy()
            out[idx] = torch.softmax(logits, dim=-1)[:, target].cpu().numpy()
            others = torch.cat([logits[:, :target], logits[:, target + 1:]], dim=1)
            log_odds[idx] = (logits[:, target] - torch.logsumexp(others, dim=1)).cpu().numpy()
            seen.clear()
            done += len(idx)
            progress(done, n, _("scoring"))
    return out, log_odds, vectors if vectors is not None else np.empty((n, 0), dtype=np.float32)
