"""Out-of-sample probabilities for the label-issue audit, and cleanlab's ranking of suspects.

A label is suspect when models that never saw it disagree with it. Each labeled case gets
P(anomaly) from models fitted on the other folds (scikit-learn ``cross_val_predict`` over
``StratifiedKFold``), on features that need no fine-tuning, so an audit costs seconds, not k
trainings of the transformer (docs/decisions/0023-label-issue-audit.md):

* TF-IDF word 1-2-grams (the tokenizer of :mod:`rsad.model.lexical`: Chinese is cut into jieba
  words) + logistic regression, on every labeled case;
* when the caller passes embeddings (mean-pooled vectors of the project's active version),
  a logistic regression on them. Embedding costs most of an audit on a CPU, so the caller embeds
  at most ``EMBED_CAP`` cases (a seeded sample); the others are judged by TF-IDF alone.

The feature sets' probabilities are averaged, then ``cleanlab.filter.find_label_issues`` keeps
the cases whose label the out-of-sample probabilities contradict (confident learning), ranked
by self-confidence: the probability the models give the case's own label, lowest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rsad.errors import InputError
from rsad.i18n import _
from rsad.model.lexical import ngrams

FOLDS = 5
MIN_PER_CLASS = FOLDS  # each fold needs a case of each class
EMBED_CAP = 1_000  # cases embedded per audit; the rest are judged by TF-IDF alone
SEED = 0


@dataclass(frozen=True)
class Suspect:
    """One label the audit doubts: its row in the input, P(anomaly) out of sample, and its
    self-confidence (the probability given to its own label; low: likely wrong)."""

    index: int
    p_anomaly: float
    quality: float


def check_enough(labels: np.ndarray) -> None:
    """InputError unless each class has at least MIN_PER_CLASS labels (CV needs them in every fold)."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    if counts.min() < MIN_PER_CLASS:
        raise InputError(_("The audit needs at least {need} labeled cases of each class, and this project has "
                           "{anomalies} anomalies and {normals} normal cases: label more cases (Label to start, "
                           "Review, or a labeled upload), then run it again.").format(
                               need=MIN_PER_CLASS, anomalies=int(counts[1]), normals=int(counts[0])))


def _folds() -> object:
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)


def tfidf_probs(texts: list[str], labels: np.ndarray) -> np.ndarray:
    """Out-of-sample P(anomaly) of each text from TF-IDF + logistic regression (fitted per fold)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    # min_df 1: a fold of a small project may hold few repeated terms; C 1 keeps one fold's
    # wrong labels from being learned by heart.
    model = make_pipeline(TfidfVectorizer(analyzer=ngrams, sublinear_tf=True, min_df=1),
                          LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))
    return cross_val_predict(model, texts, labels, cv=_folds(), method="predict_proba")[:, 1]


def embedding_probs(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Out-of-sample P(anomaly) from a logistic regression on (L2-normalised) embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    return cross_val_predict(model, vectors, labels, cv=_folds(), method="predict_proba")[:, 1]


def embed_sample(n: int, labels: np.ndarray) -> np.ndarray:
    """Row indices to embed: all of them up to EMBED_CAP, else a seeded sample stratified by label."""
    if n <= EMBED_CAP:
        return np.arange(n)
    from sklearn.model_selection import train_test_split

    picked, _rest = train_test_split(np.arange(n), train_size=EMBED_CAP, stratify=labels, random_state=SEED)
    return np.sort(picked)


def out_of_sample(texts: list[str], labels: np.ndarray, vectors: np.ndarray | None = None,
                  embedded: np.ndarray | None = None) -> np.ndarray:
    """P(anomaly) of each case: TF-IDF's, averaged with the embeddings' where the case was embedded.

    ``vectors`` are the embeddings of rows ``embedded`` (all rows when None)."""
    y = np.asarray(labels, dtype=int)
    check_enough(y)
    p = tfidf_probs(texts, y)
    if vectors is not None and len(vectors):
        rows = np.arange(len(y)) if embedded is None else np.asarray(embedded)
        if np.bincount(y[rows], minlength=2).min() >= MIN_PER_CLASS:
            p = p.copy()
            p[rows] = (p[rows] + embedding_probs(vectors, y[rows])) / 2
    return p


def rank_suspects(labels: np.ndarray, p_anomaly: np.ndarray) -> list[Suspect]:
    """The labels cleanlab finds contradicted by the out-of-sample probabilities, most doubtful first."""
    from cleanlab.filter import find_label_issues

    y = np.asarray(labels, dtype=int)
    probs = np.column_stack([1 - p_anomaly, p_anomaly]).clip(1e-6, 1 - 1e-6)
    ranked = find_label_issues(y, probs, return_indices_ranked_by="self_confidence")
    own = probs[np.arange(len(y)), y]
    return [Suspect(int(i), float(p_anomaly[i]), float(own[i])) for i in ranked]
