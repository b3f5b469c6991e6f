"""Which rule should pick a version's saved threshold? Judged on validation data only.

A version's threshold is picked on its own validation split (a seeded 20% of the training
rows). This script takes versions kept by `bench/quality.py --keep-model`, scores their
validation rows again (fp32, the same scores training saw) and compares threshold rules on
each validation set two ways: repeated split-half (pick on one half, F1 on the other) and
pooled 10-fold (each tenth flagged at the threshold picked on the other nine, closer to
picking on the whole set). The rule with the best held-out F1 over every validation set is
the one the training data supports. Test rows are shown for reference only, never to choose.

    python bench/quality.py ../shared/data/fake_reviews.csv --split-col split --train train --test test \\
        --keep-model /tmp/q/fake
    python bench/quality.py ../shared/data/youtube_spam.csv --group-col video --keep-model /tmp/q/yt
    python bench/threshold_rule.py ../shared/data/fake_reviews.csv --split-col split --models /tmp/q/fake \\
        ../shared/data/youtube_spam.csv --group-col video --models /tmp/q/yt [--repeats 200] [--cache F]

A file with a split column is tested on its rows whose split is `test` (`--test VALUE` after
the file to name another); `--cache F` keeps the scores, so trying a rule again skips scoring.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rsad.data.ingest import load_batch  # noqa: E402
from rsad.evaluation.metrics import _f1_by_threshold, at_threshold, default_threshold, max_f1_threshold  # noqa: E402
from rsad.model.card import CARD_FILE  # noqa: E402


def bootstrap_median(y: np.ndarray, s: np.ndarray, resamples: int = 200) -> float:
    """The median of the max-F1 thresholds of bootstrap resamples of the cases."""
    rng = np.random.default_rng(0)
    picks = []
    for _ in range(resamples):
        idx = rng.integers(0, len(y), len(y))
        if 0 < y[idx].sum() < len(idx):
            picks.append(max_f1_threshold(y[idx], s[idx]))
    return float(np.median(picks)) if picks else max_f1_threshold(y, s)


def plateau_middle(y: np.ndarray, s: np.ndarray, tol: float = 0.01) -> float:
    """The median of the thresholds whose F1 is within ``tol`` of the best."""
    f1, t = _f1_by_threshold(y, s)
    return float(np.median(t[f1 >= f1.max() - tol]))


RULES = {
    "max F1 (the rule before)": max_f1_threshold,
    "bootstrap median of max F1": bootstrap_median,
    "plateau middle, F1 within 0.01": plateau_middle,
    "plateau middle, F1 within 0.005": lambda y, s: plateau_middle(y, s, 0.005),
    "nearest 0.5, F1 within 0.01 (rsad's)": default_threshold,
    "nearest 0.5, F1 within 0.005": lambda y, s: default_threshold(y, s, tolerance=0.005),
    "fixed 0.5": lambda y, s: 0.5,
}


def sets(data: Path, split_col: str | None, group_col: str | None, models: Path, test_value: str) -> list[dict]:
    """(name, validation labels/scores, test labels/scores) for each kept version of one file."""
    from rsad.model.classifier import Classifier

    raw = pd.read_csv(data, dtype=str, keep_default_na=False).drop_duplicates()
    prepared = load_batch(raw.to_csv(index=False).encode(), file_name=data.name, label_required=True)
    table = prepared.labeled_table()
    col = split_col or group_col
    table["part"] = [str(m.get(col)) for m in prepared.meta]
    out = []
    folders = [models] if split_col else sorted(p for p in models.iterdir() if p.is_dir())
    for folder in folders:
        card = json.loads((folder / CARD_FILE).read_text())
        val = table[table["id"].astype(str).isin(set(card["val_ids"]))]
        test = table[table["part"] == (test_value if split_col else folder.name)]
        if len(val) != card["metrics"]["n"] or test.empty:
            sys.exit(f"{folder} was not trained on {data} (its validation ids or test rows are missing here).")
        clf = Classifier.load(folder, device="cpu", precision="fp32",
                              max_length=card["train_config"]["max_length"],
                              truncation=card["train_config"].get("truncation", "head"))
        name = data.stem if split_col else folder.name  # a file with a split, or a held-out group
        print(f"  scoring {name}: {len(val)} validation, {len(test)} test rows", file=sys.stderr, flush=True)
        out.append({"name": name, "saved": card["threshold"],
                    "yv": val["label"].to_numpy(), "sv": clf.score(val["text"].tolist(), batch_size=64),
                    "yt": test["label"].to_numpy(), "st": clf.score(test["text"].tolist(), batch_size=64)})
    return out


def split_half(y: np.ndarray, s: np.ndarray, rule, repeats: int, seed: int = 0) -> float:  # noqa: ANN001
    """Mean F1 on one half of a validation set at the threshold the rule picked on the other."""
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(repeats):
        # Stratified halves, so both have anomalies and normals in the same share.
        a = np.concatenate([rng.permutation(np.flatnonzero(y == c))[: (y == c).sum() // 2] for c in (0, 1)])
        b = np.setdiff1d(np.arange(len(y)), a)
        scores.append(at_threshold(y[b], s[b], rule(y[a], s[a]))["f1"])
    return float(np.mean(scores))


def pooled_cv(y: np.ndarray, s: np.ndarray, rule, repeats: int, folds: int = 10) -> float:  # noqa: ANN001
    """Mean over repeats of the F1 of out-of-fold flags: each case flagged at the threshold the
    rule picked on the other 90% (closer to picking on the whole set than a half is)."""
    out = []
    for seed in range(repeats):
        rng = np.random.default_rng(seed)
        fold = np.empty(len(y), dtype=int)
        for c in (0, 1):  # stratified folds
            idx = rng.permutation(np.flatnonzero(y == c))
            fold[idx] = np.arange(len(idx)) % folds
        flags = np.zeros(len(y), dtype=bool)
        for k in range(folds):
            rest = fold != k
            flags[~rest] = s[~rest] >= rule(y[rest], s[rest])
        tp = int((flags & (y == 1)).sum())
        out.append(2 * tp / (flags.sum() + (y == 1).sum()))
    return float(np.mean(out))


def parse(argv: list[str]) -> tuple[list[dict], int, Path | None]:
    """FILE (--split-col C [--test VALUE] | --group-col C) --models DIR, repeated; --repeats N; --cache F."""
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0)
    repeats, cache, specs, i = 200, None, [], 0
    keys = {"--split-col": "split_col", "--group-col": "group_col", "--models": "models", "--test": "test"}
    while i < len(argv):
        a = argv[i]
        if a in (*keys, "--repeats", "--cache"):
            if i + 1 >= len(argv):
                sys.exit(f"{a} needs a value.")
            value = argv[i + 1]
            if a == "--repeats":
                repeats = int(value)
            elif a == "--cache":
                cache = Path(value)
            elif not specs:
                sys.exit(f"{a} belongs to a FILE: give the file first (see --help).")
            else:
                specs[-1][keys[a]] = value
            i += 2
        else:
            specs.append({"data": a})
            i += 1
    if not specs or any("models" not in sp or ("split_col" in sp) == ("group_col" in sp) for sp in specs):
        sys.exit("Give each FILE with one of --split-col/--group-col and --models DIR (see --help).")
    return specs, repeats, cache


def main() -> None:
    specs, repeats, cache = parse(sys.argv[1:])
    saved = pd.read_pickle(cache) if cache and cache.exists() else None
    if saved is not None and saved.get("specs") != specs:
        sys.exit(f"{cache} holds the scores of other files or versions: remove it or name another --cache.")
    if saved is not None:  # the scores of an earlier run of the same command
        all_sets = saved["sets"]
    else:
        all_sets = [s for sp in specs for s in sets(Path(sp["data"]), sp.get("split_col"), sp.get("group_col"),
                                                    Path(sp["models"]), sp.get("test", "test"))]
        if cache:
            pd.to_pickle({"specs": specs, "sets": all_sets}, cache)
    names = [s["name"] for s in all_sets]
    print(f"held-out F1 on validation halves ({repeats} stratified splits each); test F1 for reference only")
    print(f"{'rule':38} " + " ".join(f"{n[:14]:>14}" for n in names) + f" {'mean':>7}")
    for rule_name, rule in RULES.items():
        val = [split_half(s["yv"], s["sv"], rule, repeats) for s in all_sets]
        print(f"{rule_name:38} " + " ".join(f"{v:14.4f}" for v in val) + f" {np.mean(val):7.4f}")
    print(f"pooled 10-fold cross-validated F1 on each validation set (mean of {max(1, repeats // 10)} seeds)")
    for rule_name, rule in RULES.items():
        val = [pooled_cv(s["yv"], s["sv"], rule, max(1, repeats // 10)) for s in all_sets]
        print(f"{rule_name:38} " + " ".join(f"{v:14.4f}" for v in val) + f" {np.mean(val):7.4f}")
    print("on the whole validation set: threshold picked / test F1 there (reference)")
    for rule_name, rule in RULES.items():
        cells = []
        for s in all_sets:
            t = rule(s["yv"], s["sv"])
            cells.append(f"{t:6.3f}/{at_threshold(s['yt'], s['st'], t)['f1']:.4f}")
        print(f"{rule_name:38} " + " ".join(f"{c:>14}" for c in cells))
    print("saved thresholds: " + ", ".join(f"{s['name']} {s['saved']:.3f}" for s in all_sets))


if __name__ == "__main__":
    main()
