"""Attribution time per case: this tree's rsad.model.explain vs a baseline checkout, same texts, same run.

Texts of about 60 tokens from ../shared/data/fake_reviews.csv (demo records without it);
50 Layer Integrated Gradients steps; the two implementations take turns in short blocks of
texts (see the loop for why), each call from a new thread as in the app. Prints median seconds,
the convergence deltas, the largest difference between the two word scores, and a compute
bound: the FLOPs of 50 forward + 50 input-gradient passes divided by the rate this machine
reaches in one plain forward pass of the same size, measured in the same run.

    python bench/explain.py --model models/v1 --baseline /tmp/base
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = ROOT.parent / "shared" / "data" / "fake_reviews.csv"


def texts_of_length(tokenizer, n: int, lo: int, hi: int) -> list[str]:
    if SHARED.exists():
        pool = pd.read_csv(SHARED)["behavior_description"].astype(str).tolist()
    else:
        from rsad.data.synth import make_demo_tables

        pool = make_demo_tables()[0]["behavior_description"].astype(str).tolist()
    out = [t for t in pool if lo <= len(tokenizer(t)["input_ids"]) <= hi]
    return out[:n]


def load_baseline(path: Path):  # noqa: ANN201
    # rsad/model/explain.py since rsad/ is in packages; rsad/explain.py in older checkouts.
    candidates = [path / "rsad" / "model" / "explain.py", path / "rsad" / "explain.py"]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        sys.exit(f"no explain.py in the baseline {path}: looked for {', '.join(map(str, candidates))}")
    spec = importlib.util.spec_from_file_location("baseline_explain", found)
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_explain"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def call(fn, clf, text: str, steps: int):  # noqa: ANN001, ANN201
    """fn(clf, text) from a new thread, as the app calls it; its result or its exception."""
    out: dict = {}

    def run() -> None:
        try:
            out["value"] = fn(clf, text, n_steps=steps)
        except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
            out["error"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="version folder (default: embedded MiniLM, fresh head)")
    parser.add_argument("--baseline", type=Path,
                        help="a checkout of the older code (its rsad/model/explain.py or rsad/explain.py)")
    parser.add_argument("--n", type=int, default=8, help="cases")
    parser.add_argument("--tokens", type=int, default=60)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="times every text is explained by each side")
    parser.add_argument("--block", type=int, default=4, help="texts per block of one side")
    args = parser.parse_args()

    import torch

    from rsad.config import embedded_base_model
    from rsad.model import cls_forward
    from rsad.model.classifier import Classifier
    from rsad.model.explain import explain

    clf = Classifier.load(args.model or embedded_base_model(), device="cpu")
    texts = texts_of_length(clf.tokenizer, args.n, args.tokens - 5, args.tokens + 5)
    lengths = [len(clf.tokenizer(t)["input_ids"]) for t in texts]
    base = load_baseline(args.baseline) if args.baseline else None
    print(f"{len(texts)} texts of {min(lengths)}-{max(lengths)} tokens (median {statistics.median(lengths):.0f}); "
          f"{args.steps} steps; model {args.model or 'embedded MiniLM'}; torch threads {torch.get_num_threads()}; "
          f"load average {os.getloadavg()[0]:.2f}")
    n_params = sum(p.numel() for n, p in clf.model.named_parameters() if "embeddings" not in n)
    sides = {"ours": explain, **({"theirs": base.explain} if base is not None else {})}
    for fn in sides.values():
        fn(clf, texts[0], n_steps=4)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in sides}
    results: dict[str, dict[int, object]] = {name: {} for name in sides}
    fwd_rate = []
    blocks = [range(i, min(i + args.block, len(texts))) for i in range(0, len(texts), args.block)]
    for r in range(args.rounds):
        for b, block in enumerate(blocks):
            # Short blocks per side, so that the machine's drift (large on this box) hits both
            # sides alike, with which side goes first alternating; each block starts with one
            # untimed pass, so that each side is timed in its own steady state (the baseline hands
            # memory back to the OS after every pass, which costs the next pass page faults,
            # whichever side it is). Every call comes from a new thread, as from a page run or a
            # job in the app (the main thread's heap behaves differently).
            order = list(sides.items()) if (r + b) % 2 == 0 else list(sides.items())[::-1]
            for name, fn in order:
                call(fn, clf, texts[block[0]], args.steps)
                for i in block:
                    t0 = time.perf_counter()
                    out = call(fn, clf, texts[i], args.steps)
                    times[name].append(time.perf_counter() - t0)
                    results[name][i] = out
        # The machine's rate right now: one plain forward pass of the same shape.
        ids = torch.full((args.steps, int(statistics.median(lengths))), 1000)
        t0 = time.perf_counter()
        with torch.inference_mode():
            clf.model(input_ids=ids, attention_mask=torch.ones_like(ids))
        fwd_rate.append(2 * n_params * ids.numel() / (time.perf_counter() - t0))
    ours, theirs = times["ours"], times.get("theirs", [])
    deltas = [e.delta for e in results["ours"].values()]
    # Forward + input gradients. rsad's [CLS]-only last layer skips its query, attention output and
    # feed-forward products at every other position (counted as used: rsad logs a warning when it
    # falls back to the whole model).
    length = statistics.median(lengths)
    flops = 2 * n_params * args.steps * length * 2
    last = getattr(getattr(clf.model, "bert", None), "encoder", None)
    if cls_forward.for_model(clf.model) is not None and last is not None:
        layer = last.layer[-1]
        skipped = sum(m.weight.numel() for m in (layer.attention.self.query, layer.attention.output.dense,
                                                 layer.intermediate.dense, layer.output.dense))
        flops -= 2 * skipped * args.steps * (length - 1) * 2
    print(f"this tree : median {statistics.median(ours):.2f} s, max {max(ours):.2f} s per case; "
          f"convergence delta max {max(deltas):.2e}, median {statistics.median(deltas):.2e}")
    if base is not None:
        old_deltas = [e.delta for e in results["theirs"].values()]
        diffs = [max(abs(a.score - b.score) for a, b in zip(results["ours"][i].words, results["theirs"][i].words))
                 for i in results["ours"]]
        print(f"baseline  : median {statistics.median(theirs):.2f} s, max {max(theirs):.2f} s per case; "
              f"convergence delta max {max(old_deltas):.2e}, median {statistics.median(old_deltas):.2e}")
        print(f"ratio     : {statistics.median(theirs) / statistics.median(ours):.2f}x; "
              f"largest word-score difference {max(diffs):.2e}")
    rate = statistics.median(fwd_rate)
    print(f"bound     : ~{flops / 1e9:.0f} GFLOP per case; this machine's forward rate now {rate / 1e9:.0f} GFLOP/s "
          f"-> at least {flops / rate:.2f} s per case at that rate")


if __name__ == "__main__":
    main()
