"""Scoring sweep: fp32, int8 at several batch sizes, and int8 on every Linear layer, over the
same 2,000 texts as bench/score.py (best of two warm runs each; compare the rows, not runs).

    python bench/score_sweep.py
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import torch
from score import load_texts
from torch.ao.quantization import quantize_dynamic

from rsad.config import embedded_base_model
from rsad.model import classifier as m

texts, _ = load_texts(2000)
def timed(clf, bs, reps=2):
    clf.score(texts[:64], batch_size=bs)
    best = 1e9
    for _ in range(reps):
        t0 = time.perf_counter()
        clf.score(texts, batch_size=bs)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best
fp = m.Classifier.load(embedded_base_model(), device="cpu", max_length=128, precision="fp32")
print("fp32 bs32", round(timed(fp, 32), 1), flush=True)
q8 = m.Classifier.load(embedded_base_model(), device="cpu", max_length=128, precision="int8")
for bs in (16, 32, 64, 128):
    print("int8 default layers bs", bs, round(timed(q8, bs), 1), flush=True)
allq = m.Classifier.load(embedded_base_model(), device="cpu", max_length=128, precision="fp32")
allq.model = quantize_dynamic(allq.model, {torch.nn.Linear}, dtype=torch.qint8).eval()
print("int8 all Linear bs32", round(timed(allq, 32), 1), flush=True)
print("int8 all Linear bs64", round(timed(allq, 64), 1), flush=True)
