"""Detection quality: rsad's fine-tuned BERT vs TF-IDF + logistic regression, same splits, one run.

For each labeled file: with a split column, train on one value and test on another; with a
group column, leave one group out at a time (train on the rest, test on it). Both models see
exactly the same rows. rsad trains with its defaults (`rsad train`), picks its threshold on its
own validation split (`rsad.evaluation.metrics.default_threshold`, as saved with the version) and is
scored like `rsad evaluate`; the baseline uses logistic regression's own 0.5 cut.

    python bench/quality.py ../shared/data/fake_reviews.csv --split-col split --train train --test test
    python bench/quality.py ../shared/data/youtube_spam.csv --group-col video
    python bench/quality.py ../shared/data/youtube_spam.csv --group-col video --groups Shakira
    python bench/quality.py FILE ... --baseline-only        # seconds, no fine-tuning
    python bench/quality.py FILE ... --epochs 2 --learning-rate 5e-5   # an ablation row
    python bench/quality.py ../shared/data/fake_reviews.csv --split-col split --train-sample 500   # small data
    python bench/quality.py ../shared/data/fake_reviews.csv --split-col split --min-tokens 128     # long texts

rsad's row is the version as trained (the transformer blended with a bag of words where its
validation split kept the blend, rsad.training.blend); "rsad-tf" is the same version's
transformer alone, with the threshold the rule picks on its own validation scores.

Prints one table row per (fold, model) and the differences; --out appends the rows (JSON lines).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rsad.data.ingest import load_batch  # noqa: E402
from rsad.evaluation.metrics import binary_metrics, default_threshold  # noqa: E402
from rsad.model import versions  # noqa: E402
from rsad.model.card import CARD_FILE  # noqa: E402
from rsad.service import batches  # noqa: E402
from rsad.training import train as training  # noqa: E402

KEYS = ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"]


def folds(df: pd.DataFrame, args: argparse.Namespace) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    if args.split_col:
        train = df[df["meta_split"] == args.train]
        test = df[df["meta_split"] == args.test]
        if train.empty or test.empty:
            sys.exit(f"No rows with {args.split_col} = {args.train!r} / {args.test!r}.")
        return [(f"{args.train}->{args.test}", train, test)]
    groups = sorted(df["meta_group"].unique()) if not args.groups else args.groups.split(",")
    return [(f"hold out {g}", df[df["meta_group"] != g], df[df["meta_group"] == g]) for g in groups]


def baseline(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    started = time.monotonic()
    # These settings reproduce the data README's reference numbers exactly (fake_reviews acc/F1
    # 0.911, ROC-AUC 0.968; Shakira 0.927/0.916/0.988): the baseline is at its published strength.
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                          LogisticRegression(C=10, max_iter=3000))
    model.fit(train["text"], train["label"])
    seconds = time.monotonic() - started
    scores = model.predict_proba(test["text"])[:, 1]
    return {**binary_metrics(test["label"].to_numpy(), scores, 0.5), "train_s": seconds, "scores": scores}


def sample_train(train: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` training rows, stratified by label, the same ones for the same seed."""
    from sklearn.model_selection import train_test_split

    if n >= len(train):
        return train
    part, _rest = train_test_split(train, train_size=n, random_state=seed, stratify=train["label"])
    return part.sort_index()


def long_rows(table: pd.DataFrame, min_tokens: int) -> pd.DataFrame:
    """The rows whose whole encoding by the embedded MiniLM tokenizer ([CLS] and [SEP] included)
    is longer than ``min_tokens``: those a model reading ``min_tokens`` tokens cuts."""
    from transformers import AutoTokenizer

    from rsad.config import embedded_base_model

    tok = AutoTokenizer.from_pretrained(embedded_base_model(), use_fast=True)
    lengths = [len(ids) for ids in tok(table["text"].tolist(), truncation=False, verbose=False)["input_ids"]]
    return table[[n > min_tokens for n in lengths]]


def transformer_alone(clf, card: dict, train: pd.DataFrame, test: pd.DataFrame,  # noqa: ANN001
                      batch_size: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Test scores of the version as saved, its transformer's alone, and the threshold the rule
    picks on the transformer's own validation scores."""
    val = train.set_index("id").loc[card["val_ids"]]
    probs, log_odds = clf.forward_encoded(clf.encode(test["text"].tolist()), batch_size=batch_size)
    val_probs = clf.forward_encoded(clf.encode(val["text"].tolist()), batch_size=batch_size)[0]
    blended = probs if clf.lexical is None else clf.lexical.scores(log_odds, test["text"].tolist())
    return blended, probs, default_threshold(val["label"].to_numpy(), val_probs)


def rsad_model(train: pd.DataFrame, test: pd.DataFrame, config, device: str,  # noqa: ANN001
               val_only: bool = False, keep: Path | None = None) -> dict:
    from rsad.config import Settings

    with tempfile.TemporaryDirectory(prefix="rsad-quality-") as tmp:
        settings = Settings(db_url=f"sqlite:///{tmp}/rsad.sqlite3", models_dir=Path(tmp) / "models",
                            device=device, bootstrap=False)
        store = batches.open_store(settings)
        try:
            started = time.monotonic()
            version = training.train_table(store, train[["id", "text", "label"]], config=config, created_by="bench",
                                      progress=_progress("training"))
            seconds = time.monotonic() - started
            card = json.loads((Path(version.folder) / CARD_FILE).read_text())
            if keep is not None:  # the trained version outlives the run (bench/agreement.py reads it)
                shutil.copytree(version.folder, keep, dirs_exist_ok=True)
            for h in card.get("history", []):  # per-epoch validation: what early stopping saw
                print(f"    epoch {h['epoch']}: train loss {h['train_loss']:.4f}, val PR-AUC {h['val_pr_auc']:.4f}, "
                      f"ROC-AUC {h['val_roc_auc']:.4f}, F1 {h['val_f1']:.4f}", file=sys.stderr, flush=True)
            blend = card["metrics"].get("blend", {})
            print(f"    blend: {json.dumps(blend)}", file=sys.stderr, flush=True)
            if not val_only:
                clf = versions.load_classifier(store, version)
                scores, tf_scores, tf_threshold = transformer_alone(clf, card, train, test, settings.score_batch_size)
        finally:
            store.dispose()
    # rsad's own validation split (a seeded 20% of the training rows): what ablations choose on.
    val = {f"val_{k}": version.metrics.get(k) for k in KEYS}
    if val_only:
        return {**{k: float("nan") for k in KEYS}, **val, "train_s": seconds, "scores": None,
                "history": card.get("history", [])}
    m = binary_metrics(test["label"].to_numpy(), scores, version.threshold)
    tf = {**binary_metrics(test["label"].to_numpy(), tf_scores, tf_threshold), "train_s": seconds,
          "scores": tf_scores, **{f"val_{k}": float("nan") for k in KEYS}}
    return {**m, **val, "train_s": seconds, "scores": scores, "history": card.get("history", []),
            "blend": blend, "alone": tf}


def _progress(label: str):  # noqa: ANN202
    last = [0.0]

    def show(done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if now - last[0] > 10 or done >= total:
            last[0] = now
            print(f"    {label}: {done}/{total} {message}", file=sys.stderr, flush=True)
    return show


def main() -> None:
    from rsad.model.card import TrainConfig

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("--split-col")
    p.add_argument("--train", default="train")
    p.add_argument("--test", default="test")
    p.add_argument("--group-col")
    p.add_argument("--groups", help="comma-separated groups to hold out (default: each in turn)")
    p.add_argument("--baseline-only", action="store_true")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, help="append result rows here (JSON lines)")
    p.add_argument("--val-only", action="store_true",
                   help="ablation mode: train and report rsad's validation metrics only, never touch the test rows")
    p.add_argument("--scores-out", type=Path, help="write each test row's scores from both models here (CSV)")
    p.add_argument("--train-sample", type=int, help="train on this many training rows (stratified, --sample-seed)")
    p.add_argument("--sample-seed", type=int, default=0)
    p.add_argument("--min-tokens", type=int,
                   help="only rows longer than this many tokens (embedded MiniLM tokenizer, [CLS]/[SEP] included)")
    p.add_argument("--keep-model", type=Path,
                   help="copy the trained version folder here (with --group-col: one subfolder per group)")
    for f in fields(TrainConfig):  # every training setting can be overridden for an ablation row
        if f.name in ("base_model", "init_from") or f.type in ("int", "float", "str"):
            p.add_argument("--" + f.name.replace("_", "-"), type={"int": int, "float": float}.get(f.type, str))
        elif f.type == "bool":
            p.add_argument("--" + f.name.replace("_", "-"), choices=["true", "false"])
    args = p.parse_args()
    if bool(args.split_col) == bool(args.group_col):
        sys.exit("Give exactly one of --split-col or --group-col.")

    raw = pd.read_csv(args.data, dtype=str, keep_default_na=False)
    dupes = int(raw.duplicated().sum())  # youtube_spam.csv repeats 3 rows verbatim
    if dupes:
        print(f"dropping {dupes} exact duplicate rows", file=sys.stderr)
    prepared = load_batch(raw.drop_duplicates().to_csv(index=False).encode(), file_name=args.data.name,
                          label_required=True)
    table = prepared.labeled_table()
    col = args.split_col or args.group_col
    values = [m.get(col) for m in prepared.meta]
    if any(v in (None, "") for v in values):
        sys.exit(f"{args.data} has no column {col!r} on every row.")
    table = table.assign(**{"meta_split" if args.split_col else "meta_group": [str(v) for v in values]})
    if args.min_tokens:
        n_all = len(table)
        table = long_rows(table, args.min_tokens)
        print(f"{len(table):,} of {n_all:,} rows are longer than {args.min_tokens} tokens", file=sys.stderr)

    overrides = {}
    for f in fields(TrainConfig):
        v = getattr(args, f.name, None)
        if v is not None:
            overrides[f.name] = (v == "true") if f.type == "bool" else v
    config = replace(TrainConfig(), **overrides)
    print(f"data {args.data.name}: {len(table):,} rows; rsad config "
          f"{ {k: v for k, v in asdict(config).items() if k not in ('base_model', 'init_from')} }")
    print(f"{'fold':22} {'model':8} " + " ".join(f"{k:>9}" for k in KEYS) + f" {'train s':>8}")
    rows = []
    for name, train, test in folds(table, args):
        if args.train_sample:
            train = sample_train(train, args.train_sample, args.sample_seed)
        results = {"tfidf+lr": baseline(train, test)}
        if not args.baseline_only:
            print(f"  {name}: fine-tuning on {len(train):,} rows, testing on {len(test):,}", file=sys.stderr)
            keep = args.keep_model and (args.keep_model / name.removeprefix("hold out ") if args.group_col
                                        else args.keep_model)
            results["rsad"] = rsad_model(train, test, config, args.device, val_only=args.val_only, keep=keep or None)
            if "alone" in results["rsad"]:
                results["rsad-tf"] = results["rsad"].pop("alone")
        if args.val_only:
            results.pop("tfidf+lr")
        for model, m in results.items():
            print(f"{name:22} {model:8} " + " ".join(f"{m[k]:9.4f}" for k in KEYS) + f" {m['train_s']:8.1f}")
            if model == "rsad":
                print(f"{name:22} {'rsad val':8} " + " ".join(f"{m['val_' + k]:9.4f}" for k in KEYS))
            rows.append({"data": args.data.name, "fold": name, "model": model, "n_train": len(train),
                         "n_test": len(test), **{k: m[k] for k in KEYS}, "train_s": m["train_s"],
                         **{k: v for k, v in m.items() if k.startswith("val_") or k in ("history", "blend")},
                         "config": overrides})
        if args.scores_out and not args.val_only:
            out = test[["id", "label"]].assign(fold=name, **{f"score_{k}": m["scores"] for k, m in results.items()},
                                                text=test["text"])
            out.to_csv(args.scores_out, mode="a", header=not args.scores_out.exists(), index=False)
        if "rsad" in results and "tfidf+lr" in results:
            d = {k: results["rsad"][k] - results["tfidf+lr"][k] for k in KEYS}
            print(f"{name:22} {'diff':8} " + " ".join(f"{d[k]:+9.4f}" for k in KEYS))
    if args.out:
        with args.out.open("a") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
