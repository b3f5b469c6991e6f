"""Fit the lexical part of a version and decide, on validation data only, whether to keep it.

The bag of words (TF-IDF 1-2-grams, sublinear tf, min_df 2 + logistic regression C 10: the
settings of bench/quality.py's baseline) is fitted on the training split alone, so its
validation scores are out of sample like the transformer's. The blend is a logistic
regression on the two validation log-odds ([transformer, lexical]); it is kept only when it
predicts held-out validation cases better than the transformer alone, recalibrated the same
way: mean log-loss over repeated stratified folds of the validation split, each fold scored
by stackers fitted on the others. Comparing against the recalibrated transformer (a stacker on
its log-odds alone), not the raw one, makes the lexical column earn its place: a blend that
only rescaled the transformer's scores would win on log-loss for that alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rsad.model.lexical import Blend, Lexical, ngrams

LEXICAL_CONFIG = {"ngram_range": [1, 2], "sublinear_tf": True, "min_df": 2, "C": 10.0,
                  "token_pattern": r"(?u)\b\w\w+\b", "han": "jieba words", "lowercase": True}
STACK_C = 1.0  # the stacker's L2 strength, on features in log-odds (a few units each)
FOLDS, REPEATS = 5, 4  # repeated folds: a validation split of 50-800 cases gives noisy single splits
MIN_PER_CLASS = 4  # fewer validation cases of a class: no evidence either way, transformer alone


def fit_lexical(texts: list[str], labels: np.ndarray) -> Lexical | None:
    """TF-IDF + logistic regression on the training split; None where no term occurs twice."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer=ngrams, sublinear_tf=True, min_df=LEXICAL_CONFIG["min_df"])
    try:
        x = vec.fit_transform(texts)
    except ValueError:  # "empty vocabulary": nothing to fit
        return None
    lr = LogisticRegression(C=LEXICAL_CONFIG["C"], max_iter=3000).fit(x, np.asarray(labels, dtype=int))
    terms = [""] * len(vec.vocabulary_)
    for term, j in vec.vocabulary_.items():
        terms[j] = term
    return Lexical(terms=terms, idf=vec.idf_.astype(np.float64), coef=lr.coef_[0].astype(np.float64),
                   intercept=float(lr.intercept_[0]), blend=Blend(1.0, 0.0, 0.0),
                   config={**LEXICAL_CONFIG, "n_train": len(texts), "n_terms": len(terms)})


def _stacker(class_weighting: bool) -> Any:
    from sklearn.linear_model import LogisticRegression

    # "balanced" like the transformer's class-weighted loss: the blend keeps its decision
    # boundary at 0.5 for rare anomalies too, where the saved-threshold rule expects it.
    return LogisticRegression(C=STACK_C, class_weight="balanced" if class_weighting else None)


def _cv_log_loss(x: np.ndarray, y: np.ndarray, class_weighting: bool, seed: int) -> tuple[float, np.ndarray]:
    """Mean held-out log-loss of stackers on ``x`` over repeated stratified folds, and the
    held-out probabilities of the first repeat (for the record: their PR-AUC)."""
    from sklearn.metrics import log_loss
    from sklearn.model_selection import RepeatedStratifiedKFold

    folds = min(FOLDS, int(np.bincount(y, minlength=2).min()))
    losses, first = [], np.empty(len(y))
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=REPEATS, random_state=seed)
    for k, (fit, held) in enumerate(cv.split(x, y)):
        p = _stacker(class_weighting).fit(x[fit], y[fit]).predict_proba(x[held])[:, 1]
        losses.append(log_loss(y[held], p, labels=[0, 1]))
        if k < folds:
            first[held] = p
    return float(np.mean(losses)), first


def choose(transformer: np.ndarray, lexical: np.ndarray, labels: np.ndarray, *, class_weighting: bool = True,
           seed: int = 42) -> tuple[Blend | None, dict[str, Any]]:
    """The blend fitted on all validation cases if it wins held out, else None; and the evidence."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(labels, dtype=int)
    both = np.column_stack([transformer, lexical]).astype(np.float64)
    n_min = int(np.bincount(y, minlength=2).min())
    evidence: dict[str, Any] = {"rule": f"held-out log-loss, {FOLDS}-fold x {REPEATS} on the validation split",
                                "n_val": int(len(y))}
    if n_min < MIN_PER_CLASS:
        return None, {**evidence, "kept": False, "why": f"only {n_min} validation cases of a class"}
    alone, p_alone = _cv_log_loss(both[:, :1], y, class_weighting, seed)
    blended, p_blend = _cv_log_loss(both, y, class_weighting, seed)
    evidence.update({
        "log_loss_transformer": round(alone, 5), "log_loss_blend": round(blended, 5),
        "pr_auc_transformer": round(float(average_precision_score(y, transformer)), 5),
        "pr_auc_lexical": round(float(average_precision_score(y, lexical)), 5),
        "pr_auc_blend_held_out": round(float(average_precision_score(y, p_blend)), 5),
        "pr_auc_transformer_held_out": round(float(average_precision_score(y, p_alone)), 5),
    })
    if not blended < alone:
        return None, {**evidence, "kept": False, "why": "the blend did not predict held-out validation cases better"}
    fit = _stacker(class_weighting).fit(both, y)
    blend = Blend(a=float(fit.coef_[0][0]), b=float(fit.coef_[0][1]), c=float(fit.intercept_[0]))
    return blend, {**evidence, "kept": True, "a": blend.a, "b": blend.b, "c": blend.c}


def blend_validation(enabled: bool, train_texts: list[str], y_train: np.ndarray, val_texts: list[str],
                     y_val: np.ndarray, val_probs: np.ndarray, val_log_odds: np.ndarray, *,
                     class_weighting: bool = True, seed: int = 42) -> tuple[np.ndarray, Lexical | None, dict[str, Any]]:
    """The version's validation scores, its lexical part (None: the transformer alone) and the
    evidence of the decision, for the card. ``val_probs``/``val_log_odds``: the transformer's."""
    if not enabled:
        return val_probs, None, {"kept": False, "why": "lexical_blend is off"}
    lexical = fit_lexical(train_texts, y_train)
    if lexical is None:
        return val_probs, None, {"kept": False, "why": "no term occurs twice in the training split"}
    blend, evidence = choose(val_log_odds, lexical.log_odds(val_texts), y_val,
                             class_weighting=class_weighting, seed=seed)
    if blend is None:
        return val_probs, None, evidence
    lexical.blend, lexical.evidence = blend, evidence
    return lexical.scores(val_log_odds, val_texts), lexical, evidence
