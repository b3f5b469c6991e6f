"""CPU scoring through ONNX Runtime with int8 weights: the ``onnx-int8`` score precision.

ONNX Runtime's int8 kernels are the fastest CPU path for MiniLM, ahead of PyTorch's dynamically
quantized model and fp32, with the same ranking of cases (docs/decisions/0001-onnx-int8-cpu-scoring.md;
``bench/score.py`` and ``bench/agreement.py`` measure it).
The fp32 PyTorch model stays the reference: training and attributions use it, and this is
only a faster copy of its forward pass.

The copy is made once per model version (an export and a quantization, seconds) and kept
beside the weights as ``scoring.int8.v2.onnx``, written atomically, rebuilt if it will not load;
a folder that cannot be written (or a model that is not an rsad version) builds it in a
private temporary folder, removed once ONNX Runtime has read it. Anything that goes wrong
(no onnxruntime, an exporter that cannot trace the model) returns None and the caller falls
back to PyTorch int8: scoring never fails because a faster path is missing.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import logging
import os
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from rsad.errors import ModelError
from rsad.i18n import _
from rsad.model import pooled
from rsad.model.card import CARD_FILE

log = logging.getLogger(__name__)
# v2: the graph also returns the pooled vector (rsad.model.pooled); a new name, so a version's
# older logits-only file is never read as this one (it is rebuilt under this name).
CACHE_FILE = "scoring.int8.v2.onnx"
_BUILD_LOCK = threading.Lock()


def available() -> bool:
    """True when onnxruntime and its quantization tools (onnx) import."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def excluded_nodes(graph_nodes: list[Any]) -> list[str]:
    """MatMul/Gemm nodes kept in fp32, by the same rule as :func:`rsad.model.classifier.int8_layers`:
    products of two activations (attention scores), each feed-forward block's output
    projection (GELU outliers), the pooler and the classification head."""
    out = []
    for n in graph_nodes:
        if n.op_type not in ("MatMul", "Gemm"):
            continue
        name = n.name
        if ("/attention/self/MatMul" in name or ("/output/dense/" in name and "/attention/" not in name)
                or "/pooler/" in name or "/classifier/" in name or "/score/" in name):
            out.append(name)
    return out


class OnnxScorer:
    """Called like the PyTorch model for scoring: ``(input_ids=, attention_mask=)`` -> ``.logits``,
    plus ``.pooled``: the vector the head read (rsad.model.pooled)."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        # Same thread count as PyTorch: the two never run a batch at the same time.
        opts.intra_op_num_threads = torch.get_num_threads()
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.path = path

    def __call__(self, *, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        logits, pooled_out = self.session.run(
            ["logits", "pooled"], {"input_ids": input_ids.cpu().numpy().astype(np.int64),
                                   "attention_mask": attention_mask.cpu().numpy().astype(np.int64)})
        return SimpleNamespace(logits=torch.from_numpy(logits), pooled=torch.from_numpy(pooled_out))


class _Logits(torch.nn.Module):
    """The model as the graph exports it: (logits, the head's input vector)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model  # the attribute name keeps the node names excluded_nodes matches

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with pooled.capture_pooled(self.model) as seen:
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        if not seen:
            raise ModelError(_("This model has no classification head to read the pooled vector from."))
        return logits, seen[-1]


def build(model: Any, out: Path) -> None:
    """Export ``model`` (fp32, CPU) to ONNX and write its int8 copy to ``out`` atomically."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.parent.mkdir(parents=True, exist_ok=True)
    # Exported with plain ("eager") attention: ONNX Runtime fuses that pattern into its own
    # attention kernel, and not PyTorch's SDPA call (faster scoring, same scores). A copy,
    # because the loaded model keeps serving attributions in other threads meanwhile.
    plain = copy.deepcopy(model).eval()
    with contextlib.suppress(AttributeError, ValueError):  # transformers without the switch: as loaded
        plain.set_attn_implementation("eager")
    with tempfile.TemporaryDirectory(prefix="rsad-onnx-", dir=out.parent) as tmp:
        fp32 = Path(tmp) / "model.onnx"
        ids = torch.ones((2, 8), dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notices
            torch.onnx.export(_Logits(plain), (ids, torch.ones_like(ids)), str(fp32), dynamo=False,
                              input_names=["input_ids", "attention_mask"], output_names=["logits", "pooled"],
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"},
                                            "pooled": {0: "batch"}},
                              opset_version=17)
        import onnx

        nodes = list(onnx.load(str(fp32), load_external_data=False).graph.node)
        partial = Path(tmp) / CACHE_FILE
        root = logging.getLogger()
        was, root.disabled = root.disabled, True
        try:  # quantize_dynamic logs a "consider pre-processing" hint through the root logger
            quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_exclude=excluded_nodes(nodes))
        finally:
            root.disabled = was
        os.replace(partial, out)


def _unwritable(exc: OSError) -> bool:
    return isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)


def scorer_for(model: Any, folder: str | Path | None) -> OnnxScorer | None:
    """The int8 ONNX scorer of a loaded model version, built on first use; None if it cannot be."""
    if not available():
        return None

    with _BUILD_LOCK:
        try:
            # Kept beside the weights only in an rsad version folder (never inside a base
            # model's folder, e.g. the embedded MiniLM in site-packages).
            if folder and (Path(folder) / CARD_FILE).is_file():
                path = Path(folder) / CACHE_FILE
                try:
                    return _cached(model, path)
                except OSError as exc:
                    if not _unwritable(exc):
                        raise
            # Anywhere else (or a read-only folder): a private folder of this call, gone once
            # the session holds the model. Never a shared path another model or user could fill.
            tmp = Path(tempfile.mkdtemp(prefix="rsad-onnx-"))
            try:
                build(model, tmp / CACHE_FILE)
                return OnnxScorer(tmp / CACHE_FILE)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        except Exception as exc:  # noqa: BLE001 - any exporter/runtime failure means "use PyTorch int8"
            log.warning("ONNX int8 scoring unavailable (%s: %s); scoring with PyTorch int8.",
                        type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            return None


def _cached(model: Any, path: Path) -> OnnxScorer:
    """The scorer from the version's file, rebuilt once if it is missing or will not load
    (a partial copy, a file from another onnxruntime)."""
    if path.is_file():
        try:
            return OnnxScorer(path)
        except Exception as exc:  # noqa: BLE001 - whatever is wrong with it, a rebuild replaces it
            log.info("Rebuilding %s (%s)", path, type(exc).__name__)
    build(model, path)
    return OnnxScorer(path)
