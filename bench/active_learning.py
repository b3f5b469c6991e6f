"""Does the desk's order save labels? A simulated labeling campaign on a labeled data set.

Start from 100 random labels; each round, the strategy picks 50 more from the unlabeled pool
(their true labels are revealed, as an analyst's verdicts would give them), the model is
retrained from the base model with the real retraining recipe (``rsad.training.fine_tune`` with
the first model's epochs for that many labels, early stopping, the bag-of-words blend, the
threshold its validation split picks: what a retraining job runs), and test F1 (at that
threshold) and PR-AUC are recorded. Strategies (``rsad.review.selection``): random, uncertain
(nearest the threshold first) and active (the desk's order: uncertainty x diversity over the
model's own mean-pooled embeddings). All strategies share the first 100 labels and the model
trained on them. A reference model trained on every pool label gives the F1 to reach: the
table says how many labels each strategy needed to reach 95 % of it.

    python bench/active_learning.py youtube        # pool: 4 videos; test: Shakira
    python bench/active_learning.py fake_reviews   # pool: 2,000 of the train split; test: 1,000 of test
    python bench/active_learning.py youtube --seeds 0,1,2 --out al.jsonl   # curves averaged over seeds
    python bench/active_learning.py youtube --report al.jsonl               # the table again, no training

Shortened for 2 CPU cores (at most about 30 minutes a data set): rounds of 50 up to ``--rounds``
(default 8: 100 -> 500 labels), few seeds (the curves are averaged over them; the reference is
trained once), fake_reviews' pool and test sampled (stratified).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rsad.config import embedded_base_model  # noqa: E402
from rsad.evaluation.metrics import binary_metrics  # noqa: E402
from rsad.model.card import TrainConfig  # noqa: E402
from rsad.model.classifier import Classifier  # noqa: E402
from rsad.ops.coverage import encoder_embeddings  # noqa: E402
from rsad.review import selection  # noqa: E402
from rsad.service.jobs import first_model_epochs  # noqa: E402
from rsad.training.fine_tune import fine_tune  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
START, STEP, TARGET = 100, 50, 0.95


def _stratified(df: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    from sklearn.model_selection import train_test_split

    if n >= len(df):
        return df
    part, _rest = train_test_split(df, train_size=n, random_state=seed, stratify=df["label"])
    return part


def load(name: str, pool_n: int, test_n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pool, test) with columns id, text, label."""
    if name == "youtube":
        df = pd.read_csv(SHARED / "youtube_spam.csv").drop_duplicates()
        pool, test = df[df["video"] != "Shakira"], df[df["video"] == "Shakira"]
    elif name == "fake_reviews":
        df = pd.read_csv(SHARED / "fake_reviews.csv")
        pool, test = df[df["split"] == "train"], df[df["split"] == "test"]
    else:
        sys.exit(f"unknown data set {name!r}: youtube or fake_reviews")

    def table(d: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"id": d["case_id"].astype(str), "text": d["behavior_description"].astype(str),
                             "label": d["is_anomaly"].astype(int)}).reset_index(drop=True)

    return (_stratified(table(pool), pool_n, seed).reset_index(drop=True),
            _stratified(table(test), test_n, seed).reset_index(drop=True))


def train(table: pd.DataFrame, seed: int) -> tuple[Classifier, float, float]:
    """The retraining recipe on ``table``: (classifier, its threshold, seconds)."""
    config = TrainConfig(base_model=embedded_base_model(), epochs=first_model_epochs(len(table)), min_steps=0,
                         seed=seed)
    result = fine_tune(table, config, device="cpu")
    clf = Classifier(model=result.model, tokenizer=result.tokenizer, device=next(result.model.parameters()).device,
                     max_length=config.max_length, lexical=result.lexical)
    return clf, float(result.threshold), result.seconds


def pick(strategy: str, clf: Classifier, threshold: float, texts: list[str], seed: int) -> list[int]:
    """Indices into ``texts`` of the next STEP to label."""
    if strategy == "random":
        return selection.choose(np.zeros(len(texts)), threshold, STEP, "random", seed=seed)
    scores = clf.score(texts)
    if strategy == "uncertain":
        return selection.choose(scores, threshold, STEP, "uncertain")
    # As the desk does it: embed only the most uncertain POOL_FACTOR x STEP cases.
    pool = selection.most_uncertain(scores, threshold, selection.POOL_FACTOR * STEP)
    vectors = encoder_embeddings(clf.model.base_model, clf.tokenizer, [texts[i] for i in pool],
                                 max_length=clf.max_length)
    return [int(pool[i]) for i in selection.choose(scores[pool], threshold, STEP, "active", vectors=vectors)]


def measure(clf: Classifier, threshold: float, test: pd.DataFrame) -> dict[str, float]:
    m = binary_metrics(test["label"].to_numpy(), clf.score(test["text"].tolist()), threshold)
    return {"f1": m["f1"], "pr_auc": m["pr_auc"], "roc_auc": m["roc_auc"]}


def campaign(strategy: str, pool: pd.DataFrame, test: pd.DataFrame, start: list[int], first: tuple,
             rounds: int, seed: int, out: list[dict]) -> None:
    """Rounds of STEP labels chosen by ``strategy`` after the shared start; rows go to ``out``."""
    labeled = list(start)
    clf, threshold, seconds = first
    for r in range(rounds + 1):
        if r:
            clf, threshold, seconds = train(pool.iloc[labeled], seed)
        row = {"strategy": strategy, "labels": len(labeled), "anomalies": int(pool["label"].iloc[labeled].sum()),
               "train_s": round(seconds, 1), **measure(clf, threshold, test)}
        out.append(row)
        print(json.dumps(row), flush=True)
        if r == rounds:
            break
        free = sorted(set(range(len(pool))) - set(labeled))
        chosen = pick(strategy, clf, threshold, pool["text"].iloc[free].tolist(), seed + r)
        labeled += [free[i] for i in chosen]


def needed(rows: list[dict], strategy: str, goal: float, metric: str = "f1") -> int | None:
    """The fewest labels at which ``strategy``'s test ``metric`` reached ``goal`` (None: not within the run)."""
    hits = [r["labels"] for r in rows if r["strategy"] == strategy and r[metric] >= goal]
    return min(hits) if hits else None


def stays(rows: list[dict], strategy: str, goal: float) -> int | None:
    """The fewest labels from which ``strategy``'s test F1 stayed at or above ``goal`` to the end of the
    run: one lucky round does not count (None: it was below at the end)."""
    curve = sorted((r["labels"], r["f1"]) for r in rows if r["strategy"] == strategy)
    since = None
    for labels, f1 in curve:
        since = (since or labels) if f1 >= goal else None
    return since


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", choices=["youtube", "fake_reviews"])
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--pool", type=int, default=2000, help="pool size (fake_reviews is sampled to it)")
    p.add_argument("--test", type=int, default=1000, help="test size (fake_reviews is sampled to it)")
    p.add_argument("--seeds", default="0", help="comma-separated; each seed draws its own first 100 labels")
    p.add_argument("--strategies", default=",".join(reversed(selection.STRATEGIES)))
    p.add_argument("--out", type=Path, help="append the rows here (JSON lines)")
    p.add_argument("--reference", type=Path, help="take the all-label row from this file (rows of --out or the "
                   "printed lines) instead of training it again")
    p.add_argument("--report", type=Path, help="print the table from rows saved with --out (no training)")
    args = p.parse_args()
    if args.report:
        saved = [json.loads(x) for x in args.report.read_text().splitlines() if x.strip()]
        saved = [r for r in saved if r["data"] == args.data]
        full = next(r for r in saved if r["strategy"] == "all labels")
        runs = [r for r in saved if r["strategy"] != "all labels"]
        report(args.data, full, mean_rows(runs), len({r["seed"] for r in runs}), 0.0)
        return
    began = time.monotonic()
    seeds = [int(x) for x in args.seeds.split(",")]
    pool, test = load(args.data, args.pool, args.test, seeds[0])
    print(f"{args.data}: pool {len(pool):,} ({pool['label'].mean():.0%} anomalies), test {len(test):,}", flush=True)
    if args.reference:  # the all-label row of an earlier run on the same pool and test
        rows = [json.loads(x) for x in args.reference.read_text().splitlines() if x.startswith("{")]
        full = next(r for r in rows if r.get("strategy") == "all labels" and r["labels"] == len(pool))
    else:
        full_clf, full_t, full_s = train(pool, seeds[0])
        full = {"strategy": "all labels", "seed": seeds[0], "labels": len(pool),
                "anomalies": int(pool["label"].sum()), "train_s": round(full_s, 1), **measure(full_clf, full_t, test)}
        del full_clf
    print(json.dumps(full), flush=True)
    rows: list[dict] = []
    for seed in seeds:
        start = np.random.default_rng(seed).permutation(len(pool))[:START].tolist()
        first = train(pool.iloc[start], seed)
        runs: list[dict] = []
        for strategy in args.strategies.split(","):
            campaign(strategy, pool, test, start, first, args.rounds, seed, runs)
        rows += [{"seed": seed, **r} for r in runs]
    if args.out:
        with args.out.open("a") as fh:
            for r in [full, *rows]:
                fh.write(json.dumps({"data": args.data, **r}) + "\n")
    report(args.data, full, mean_rows(rows), len(seeds), time.monotonic() - began)


def mean_rows(rows: list[dict]) -> list[dict]:
    """Each (strategy, labels) averaged over the seeds."""
    frame = pd.DataFrame(rows).groupby(["strategy", "labels"], sort=False)[["f1", "pr_auc", "roc_auc"]].mean()
    return frame.reset_index().to_dict("records")


def report(name: str, full: dict, rows: list[dict], seeds: int, seconds: float) -> None:
    goal = TARGET * full["f1"]
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    labels = sorted({r["labels"] for r in rows})
    print(f"\n{name}: test F1 / PR-AUC by labels, mean of {seeds} seed(s) (all {full['labels']:,} labels: "
          f"F1 {full['f1']:.3f}, PR-AUC {full['pr_auc']:.3f}; goal {TARGET:.0%} of that F1 = {goal:.3f}); "
          f"{seconds / 60:.1f} min\n")
    print("| labels | " + " | ".join(strategies) + " |")
    print("|---:|" + "---:|" * len(strategies))
    for n in labels:
        cells = [next((f"{r['f1']:.3f} / {r['pr_auc']:.3f}" for r in rows
                       if r["strategy"] == s and r["labels"] == n), "") for s in strategies]
        print(f"| {n} | " + " | ".join(cells) + " |")
    for name, rule in ((f"labels to reach {TARGET:.0%} of all-label F1", needed),
                       (f"labels from which F1 stays at {TARGET:.0%} of all-label F1", stays)):
        print(f"| {name} | " + " | ".join(
            str(v) if v is not None else f"> {labels[-1]}" for v in (rule(rows, s, goal) for s in strategies)) + " |")
    if "random" in strategies:  # the savings when random never gets there within the run
        last = max(r["labels"] for r in rows if r["strategy"] == "random")
        for metric, name in (("f1", "F1"), ("pr_auc", "PR-AUC")):
            bar = next(r[metric] for r in rows if r["strategy"] == "random" and r["labels"] == last)
            matched = {s: needed(rows, s, bar, metric) for s in strategies}
            print(f"| labels to match random's {name} at {last} ({bar:.3f}) | " + " | ".join(
                str(v) if v is not None else f"> {labels[-1]}" for v in matched.values()) + " |")


if __name__ == "__main__":
    main()
