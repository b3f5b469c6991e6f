"""Int8 matrix products inside Layer Integrated Gradients: time and agreement against fp32.

An experiment for issue 6's attribution target, not a code path of rsad: every encoder Linear
runs its forward product and its input-gradient product in int8 (`torch._int_mm`, per-row
dynamic scales for activations and gradients, per-channel weights), the rest stays fp32.
Prints median seconds per case for both, the convergence deltas, how far the word scores move
(largest difference over the largest |score|) and the overlap of the five strongest words.

    python bench/explain_int8.py --model /tmp/q/fake4 --n 8
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from explain import texts_of_length  # noqa: E402

from rsad.config import embedded_base_model  # noqa: E402
from rsad.model.classifier import Classifier  # noqa: E402
from rsad.model.explain import explain  # noqa: E402


class _Int8Product(torch.autograd.Function):
    """y = x W^T + b with both products (forward and input gradient) in int8."""

    @staticmethod
    def forward(ctx, x, wq, wqt, w_scale, bias):  # noqa: ANN001, ANN205
        shape = x.shape
        x2 = x.reshape(-1, shape[-1])
        x_scale = x2.abs().amax(1, keepdim=True).clamp_min(1e-12) / 127
        y = torch._int_mm(torch.round(x2 / x_scale).to(torch.int8), wqt).float().mul_(x_scale).mul_(w_scale)
        if bias is not None:
            y.add_(bias)
        ctx.save_for_backward(wq, w_scale)
        ctx.shape = shape
        return y.reshape(*shape[:-1], -1)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        wq, w_scale = ctx.saved_tensors
        g2 = grad.reshape(-1, grad.shape[-1]) * w_scale  # the weights' scales folded into the gradient
        g_scale = g2.abs().amax(1, keepdim=True).clamp_min(1e-30) / 127
        gx = torch._int_mm(torch.round(g2 / g_scale).to(torch.int8), wq).float().mul_(g_scale)
        return gx.reshape(ctx.shape), None, None, None, None


class Int8Linear(torch.nn.Module):
    def __init__(self, linear: torch.nn.Linear) -> None:
        super().__init__()
        w = linear.weight.detach().float()
        w_scale = w.abs().amax(1).clamp_min(1e-12) / 127  # per output channel
        wq = torch.round(w / w_scale[:, None]).to(torch.int8)
        self.register_buffer("wq", wq.contiguous())
        self.register_buffer("wqt", wq.t().contiguous())
        self.register_buffer("w_scale", w_scale)
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Int8Product.apply(x, self.wq, self.wqt, self.w_scale, self.bias)


def int8_copy(clf: Classifier) -> Classifier:
    """A shallow copy of the classifier whose encoder Linears compute in int8."""
    q = copy.copy(clf)
    q.model = copy.deepcopy(clf.model)
    for module in list(q.model.base_model.encoder.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, torch.nn.Linear):
                setattr(module, name, Int8Linear(child))
    return q


def top5(scores: list[float]) -> set[int]:
    return set(sorted(range(len(scores)), key=lambda i: -abs(scores[i]))[:5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="version folder (default: embedded MiniLM, fresh head)")
    parser.add_argument("--n", type=int, default=8, help="cases of 55-65 tokens")
    args = parser.parse_args()
    clf = Classifier.load(args.model or embedded_base_model(), device="cpu")
    qclf = int8_copy(clf)
    texts = texts_of_length(clf.tokenizer, args.n, 55, 65)
    explain(clf, texts[0], n_steps=4)  # warm-up
    explain(qclf, texts[0], n_steps=4)
    t32, t8, d32, d8, moved, overlap = [], [], [], [], [], []
    for text in texts:  # the two alternate case by case: same load for both
        t0 = time.perf_counter()
        a = explain(clf, text, n_steps=50)
        t32.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = explain(qclf, text, n_steps=50)
        t8.append(time.perf_counter() - t0)
        d32.append(a.delta)
        d8.append(b.delta)
        sa, sb = [w.score for w in a.words], [w.score for w in b.words]
        moved.append(max(abs(x - y) for x, y in zip(sa, sb)) / max(abs(x) for x in sa))
        overlap.append(len(top5(sa) & top5(sb)))
    print(f"{len(texts)} texts, 50 steps, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"fp32: median {statistics.median(t32):.3f} s; int8 products: median {statistics.median(t8):.3f} s "
          f"({statistics.median(t32) / statistics.median(t8):.2f}x)")
    print(f"convergence delta: fp32 max {max(d32):.2e}; int8 max {max(d8):.2e}, median {statistics.median(d8):.2e}")
    print(f"word scores moved (largest difference / largest |score|): median {statistics.median(moved):.3f}, "
          f"max {max(moved):.3f}; five strongest words in common: {overlap}")


if __name__ == "__main__":
    main()
