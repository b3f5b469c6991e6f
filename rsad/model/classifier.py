"""Load a classifier (any HF folder or hub id) and score texts with it.

Scoring sorts texts by length and pads each batch only to its own longest text: behavior
descriptions vary a lot in length, and padding everything to max_length wastes most of the
compute on [PAD] tokens.

Precision (``RSAD_SCORE_PRECISION``): on the CPU, ``auto`` scores with an int8 copy run by
ONNX Runtime (rsad.model.onnx; faster than fp32 with the same ranking, see
docs/decisions/0001-onnx-int8-cpu-scoring.md), or, where onnxruntime
cannot take the model, PyTorch's dynamically quantized Linear layers (``int8``).
The fp32 model stays loaded: attributions need its gradients. GPUs never quantize: they
score under bf16 (fp16 on older cards) autocast.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rsad.config import SCORE_PRECISIONS, TRUNCATIONS
from rsad.errors import ConfigError, ModelError
from rsad.i18n import _
from rsad.model import lexical as lexical_part
from rsad.model import onnx as onnx_scoring
from rsad.model import pooled
from rsad.model.card import ID2LABEL, LABEL2ID
from rsad.model.hf import hf, quiet_transformers
from rsad.model.pooled import anomaly_index  # noqa: F401 - re-exported: rsad.model.explain reads it here
from rsad.progress import ProgressFn, no_progress

_QUANTIZE_LOCK = threading.Lock()
PRECISIONS = SCORE_PRECISIONS
PICKLE_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".pkl")  # never loaded: unpickling runs code
# head_tail keeps this share of the budget from the start, the rest from the end: Sun et al.
# 2019 ("How to Fine-Tune BERT for Text Classification?") found head 128 + tail 382 of 512 best.
HEAD_SHARE = 0.25


def kept_positions(n_tokens: int, max_length: int, truncation: str = "head") -> list[int] | None:
    """Which positions of a full encoding ([CLS] ... [SEP], ``n_tokens`` long) the model reads,
    or None when it fits. ``head`` keeps the start; ``head_tail`` the start and the end."""
    if truncation not in TRUNCATIONS:
        raise ModelError(_("Unknown truncation {truncation!r}: use one of {TRUNCATIONS}.").format(
                             truncation=truncation, TRUNCATIONS=', '.join(TRUNCATIONS)))
    if n_tokens <= max_length:
        return None
    body = max_length - 2  # [CLS] and [SEP] always stay
    head = body if truncation == "head" else max(1, int(body * HEAD_SHARE))
    tail = body - head
    return [0, *range(1, 1 + head), *range(n_tokens - 1 - tail, n_tokens)]


def pick_device(setting: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; anything else is taken as asked."""
    setting = setting.lower()
    if setting == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(_("RSAD_DEVICE={setting} but PyTorch sees no CUDA GPU: use auto or cpu.").format(
                              setting=setting))
    if setting == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(_("RSAD_DEVICE=mps but this PyTorch has no MPS support: use auto or cpu."))
    return torch.device(setting)


def load_pretrained(name_or_path: str, *, num_labels: int = 2) -> tuple[Any, Any]:
    """(model, fast tokenizer) from an HF folder or hub id, with rsad's label map."""
    AutoModelForSequenceClassification, AutoTokenizer = hf("AutoModelForSequenceClassification", "AutoTokenizer")
    quiet_transformers()
    source = Path(name_or_path)
    if (source.is_absolute() or name_or_path.startswith(".")) and not source.exists():
        raise ModelError(_("Model folder {name_or_path} does not exist.").format(name_or_path=name_or_path))
    pickles = sorted(p.name for ext in PICKLE_WEIGHTS for p in source.glob(f"*{ext}")) if source.is_dir() else []
    if pickles and not any(source.glob("*.safetensors")):
        raise ModelError(
            _("Model folder {name_or_path} has no safetensors weights (model.safetensors). It has {pickles}: "
              "PyTorch pickle files, which can run code when loaded, so rsad never loads them. Convert the model "
              "with save_pretrained(folder, safe_serialization=True) in a trusted environment.").format(
                name_or_path=name_or_path, pickles=', '.join(pickles)))
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, use_fast=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            name_or_path, num_labels=num_labels, id2label=ID2LABEL, label2id=LABEL2ID,
            use_safetensors=True,
        )
    except (OSError, ValueError) as exc:
        raise ModelError(
            _("Cannot load model {name_or_path!r}: {exc}. Use an HF folder with safetensors weights, or a hub id "
              "when the hub is reachable.").format(name_or_path=name_or_path, exc=exc)
        ) from exc
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(_("Model {name_or_path!r} has no fast tokenizer (tokenizer.json); rsad needs one.").format(
                             name_or_path=name_or_path))
    return model, tokenizer


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on GPUs that have it, fp16 on older ones, nothing on the CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def resolve_precision(setting: str, device: torch.device) -> str:
    """What a precision setting means on a device: 'onnx-int8', 'int8', 'fp32', 'bf16' or 'fp16'.

    int8 is a CPU technique here: ONNX Runtime's int8 kernels (``onnx-int8``, what ``auto``
    picks when onnxruntime is installed) or PyTorch dynamic quantization (``int8``). On CUDA
    every setting but fp32 means autocast; other accelerators (MPS) score in fp32.
    """
    setting = setting.lower()
    if setting not in PRECISIONS:
        raise ConfigError(_("Score precision {setting!r}: use one of {PRECISIONS}.").format(
                              setting=setting, PRECISIONS=', '.join(PRECISIONS)))
    if setting == "fp32":
        return "fp32"
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        if setting in ("auto", "onnx-int8"):

            return "onnx-int8" if onnx_scoring.available() else "int8"
        return "int8"
    return "fp32"


def int8_layers(model: Any) -> set[str]:
    """The Linear layers worth quantizing: the encoder's, except each feed-forward block's
    output projection, and never the pooler or the classification head.

    The feed-forward output reads GELU activations with a few large outliers; one int8 scale
    per tensor then flattens everything else. Quantizing it too doubled the score error on
    fake_reviews (mean |diff| 0.037 vs 0.021, 15 vs 6 of 400 cases across the threshold) for
    little extra speed.
    """
    names = {n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    chosen = {n for n in names if ".layer." in n and not (n.endswith("output.dense") and "attention" not in n)}
    return chosen or {n for n in names if not any(k in n for k in ("classifier", "pooler", "score"))}


def quantize_int8(model: Any) -> Any | None:
    """A copy of ``model`` with int8 dynamically quantized Linear layers, for CPU inference.

    None when this PyTorch cannot (no quantized engine, or the eager API is gone): the caller
    then scores in fp32. ``torch.ao.quantization`` warns that it is deprecated; it still ships
    and works in 2.13, and the fallback covers its removal.
    """
    try:
        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return quantize_dynamic(model, int8_layers(model), dtype=torch.qint8, inplace=False).eval()
    except (ImportError, AttributeError, RuntimeError, NotImplementedError):
        return None


@dataclass
class Classifier:
    """A loaded model version, ready to score."""

    model: Any
    tokenizer: Any
    device: torch.device
    max_length: int = 128
    name: str = ""
    precision: str = "fp32"  # effective: fp32 | onnx-int8 | int8 | bf16 | fp16 (see resolve_precision)
    scoring_model: Any = None  # the int8 copy when precision is (onnx-)int8 (made on first score)
    truncation: str = "head"  # texts over max_length: keep the head, or head and tail (TRUNCATIONS)
    folder: str = ""  # the version folder, where the onnx-int8 copy is kept ("" = none)
    lexical: lexical_part.Lexical | None = None  # a blended version's bag of words (rsad.model.lexical)

    @classmethod
    def load(cls, folder: str | Path, *, device: str = "auto", max_length: int = 128,
             name: str = "", precision: str = "fp32", truncation: str = "head") -> Classifier:
        """Load a version; ``precision`` is a setting (auto, fp32, int8, onnx-int8), fp32 by
        default here so library callers get exact scores unless they ask (the app passes its
        setting). ``truncation`` is the version's own (its card), so scoring and attributions
        read the tokens it was trained on."""
        if truncation not in TRUNCATIONS:  # a card edited by hand or from a newer rsad
            raise ModelError(_("Version {name}: unknown truncation {truncation!r} (this rsad reads "
                               "{TRUNCATIONS}).").format(name=Path(folder).name, truncation=truncation,
                                                         TRUNCATIONS=', '.join(TRUNCATIONS)))
        model, tokenizer = load_pretrained(str(folder))
        dev = pick_device(device)
        model.to(dev).eval()
        return cls(model=model, tokenizer=tokenizer, device=dev, max_length=max_length,
                   name=name or Path(folder).name, precision=resolve_precision(precision, dev),
                   truncation=truncation, folder=str(folder), lexical=lexical_part.load(folder))

    def _scorer(self) -> Any:
        """The module that scores: the int8 copy, made on first use (a page that only shows
        attributions never pays for it), or the model itself."""
        if self.precision not in ("int8", "onnx-int8"):
            return self.model
        with _QUANTIZE_LOCK:
            if self.scoring_model is None and self.precision == "onnx-int8":

                self.scoring_model = onnx_scoring.scorer_for(self.model, self.folder or None)
                if self.scoring_model is None:
                    self.precision = "int8"  # onnxruntime could not take this model: PyTorch int8
            if self.scoring_model is None:
                self.scoring_model = quantize_int8(self.model)
                if self.scoring_model is None:
                    self.precision = "fp32"
                    return self.model
        return self.scoring_model

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda" and self.precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids per text, cut to max_length as ``truncation`` says, unpadded."""
        if self.truncation == "head":
            return self.tokenizer(list(texts), truncation=True, max_length=self.max_length, padding=False,
                                  return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        # The whole text first (verbose=False: a text past the model's 512 is expected here), then cut.
        full = self.tokenizer(list(texts), truncation=False, padding=False, verbose=False,
                              return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        out = []
        for ids in full:
            keep = kept_positions(len(ids), self.max_length, self.truncation)
            out.append(ids if keep is None else [ids[i] for i in keep])
        return out

    def pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(input_ids, attention_mask) on the device, padded to the longest row."""
        width = max(len(r) for r in rows)
        pad_id = self.tokenizer.pad_token_id or 0
        ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = r
            mask[i, : len(r)] = 1
        ids_t, mask_t = torch.from_numpy(ids), torch.from_numpy(mask)
        if self.device.type == "cuda":
            ids_t, mask_t = ids_t.pin_memory(), mask_t.pin_memory()
        return (ids_t.to(self.device, non_blocking=True),
                mask_t.to(self.device, non_blocking=True))

    def score(self, texts: list[str], *, batch_size: int = 32,
              progress: ProgressFn = no_progress) -> np.ndarray:
        """P(anomaly) for each text, in the order given."""
        return self.score_encoded(self.encode(texts) if len(texts) else [], texts=list(texts),
                                  batch_size=batch_size, progress=progress)

    def score_encoded(self, ids: list[list[int]], *, texts: list[str] | None = None, batch_size: int = 32,
                      progress: ProgressFn = no_progress) -> np.ndarray:
        """P(anomaly) for each row of :meth:`encode`'s output (tokenized elsewhere, e.g. ahead
        of time in another thread). A blended version also needs the ``texts`` themselves."""
        return self.score_and_embed_encoded(ids, texts=texts, batch_size=batch_size, progress=progress)[0]

    def score_and_embed_encoded(self, ids: list[list[int]], *, texts: list[str] | None = None,
                                batch_size: int = 32, progress: ProgressFn = no_progress,
                                ) -> tuple[np.ndarray, np.ndarray]:
        """(P(anomaly), pooled vectors) for each row: the vectors are what the head reads
        (rsad.model.pooled), kept for similar cases. A blended version also needs the texts."""
        p, log_odds, vectors = pooled.forward(self, ids, batch_size=batch_size, progress=progress)
        if self.lexical is None:
            return p, vectors
        if texts is None or len(texts) != len(ids):
            raise ModelError(_("Version {name} blends in a bag of words: scoring needs the texts too.").format(
                name=self.name))
        return self.lexical.scores(log_odds, texts), vectors

    def embed(self, texts: list[str], *, batch_size: int = 32) -> np.ndarray:
        """The pooled vector of each text (float32 rows), as scoring stores them."""
        return pooled.forward(self, self.encode(texts) if texts else [], batch_size=batch_size)[2]

    def forward_encoded(self, ids: list[list[int]], *, batch_size: int = 32,
                        progress: ProgressFn = no_progress) -> tuple[np.ndarray, np.ndarray]:
        """The transformer alone: (P(anomaly), anomaly log-odds) per row."""
        return pooled.forward(self, ids, batch_size=batch_size, progress=progress)[:2]
