"""The lexical part of a blended version: TF-IDF + logistic regression beside the transformer.

A version may hold ``lexical.json`` beside its weights: a bag-of-words model (the vocabulary
of word 1-2-grams, their idf weights and a logistic regression's coefficients) fitted on the
version's training split, and the blend that stacks it on the transformer, fitted on the
validation split:

    blended log-odds = a * transformer log-odds + b * lexical log-odds + c

On small training sets and long texts a bag of words can beat the fine-tuned transformer
(which reads only the first tokens); the blend keeps the better of both where validation
says so (docs/decisions/0021-lexical-blend.md). Versions without the file score with the
transformer alone, as before.

Plain JSON and numpy, never pickle: the file is inspectable and loading it runs no code.
Scoring reimplements scikit-learn's TF-IDF transform (sublinear tf, idf, l2 norm) on the
same token rule (lower-cased runs of 2+ word characters), so every score and every word's
contribution is computed by this module alone; :mod:`rsad.training.blend` fits it.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rsad.errors import ModelError
from rsad.i18n import _
from rsad.model.words import han_words, has_han

LEXICAL_FILE = "lexical.json"
LEXICAL_FORMAT = 1
# scikit-learn's default token_pattern: runs of 2+ word characters (Chinese runs: see tokens)
TOKEN = re.compile(r"(?u)\b\w\w+\b")


def tokens(text: str) -> list[tuple[int, int, str]]:
    """(start, end, lower-cased token) of each token of ``text``, in order.

    Chinese is written without spaces, so the rule above would make a whole clause one token:
    a run holding Han characters is cut into jieba's words instead (single characters included,
    as 单 or 刷 carry meaning; pieces without a Han character still need 2+ word characters).
    Text without Han characters is tokenized exactly as scikit-learn does."""
    out = []
    for m in TOKEN.finditer(text):
        if not has_han(m.group()):
            out.append((m.start(), m.end(), m.group().lower()))
            continue
        for word, start, end in han_words(m.group()):
            if has_han(word) or TOKEN.fullmatch(word):
                out.append((m.start() + start, m.start() + end, word.lower()))
    return out


def ngrams(text: str) -> list[str]:
    """The text's unigrams then bigrams (joined by a space, as scikit-learn does)."""
    words = [t for _s, _e, t in tokens(text)]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # never overflows, unlike 1 / (1 + exp(-x))


@dataclass
class Blend:
    """How the two parts combine: ``a * transformer + b * lexical + c``, in log-odds."""

    a: float
    b: float
    c: float

    def log_odds(self, transformer: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        return self.a * np.asarray(transformer, dtype=np.float64) + self.b * np.asarray(lexical, dtype=np.float64) \
            + self.c


@dataclass
class Lexical:
    """A fitted TF-IDF + logistic regression, with the blend that puts it beside the transformer."""

    terms: list[str]  # vocabulary, in column order
    idf: np.ndarray
    coef: np.ndarray
    intercept: float
    blend: Blend
    config: dict[str, Any] = field(default_factory=dict)  # how it was fitted (for the record)
    evidence: dict[str, Any] = field(default_factory=dict)  # the validation numbers that kept it

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.terms)}
        if not (len(self.terms) == len(self.idf) == len(self.coef)):
            raise ModelError(_("The lexical model's vocabulary, idf and coefficients differ in length."))

    def _weights(self, grams: list[str]) -> dict[int, float]:
        """Column -> TF-IDF weight of one text (sublinear tf x idf, l2-normalised)."""
        counts = Counter(self.index[g] for g in grams if g in self.index)
        w = {j: (1.0 + math.log(n)) * float(self.idf[j]) for j, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in w.values()))
        return {j: v / norm for j, v in w.items()} if norm > 0 else {}

    def log_odds(self, texts: list[str]) -> np.ndarray:
        """The logistic regression's log-odds of each text."""
        out = np.empty(len(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            w = self._weights(ngrams(text))
            out[i] = self.intercept + sum(v * float(self.coef[j]) for j, v in w.items())
        return out

    def scores(self, transformer_log_odds: np.ndarray, texts: list[str]) -> np.ndarray:
        """P(anomaly) of the blend, from the transformer's log-odds of the same texts."""
        return _sigmoid(self.blend.log_odds(transformer_log_odds, self.log_odds(texts)))

    def contributions(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, share of the blended log-odds) of each token of ``text``: exactly
        b x TF-IDF weight x coefficient per n-gram, a bigram's split evenly between its two
        words. They add up to b x (lexical log-odds - intercept), the change from an empty text."""
        toks = tokens(text)
        words = [t for _s, _e, t in toks]
        grams = [((k,), w) for k, w in enumerate(words)]
        grams += [((k, k + 1), f"{a} {b}") for k, (a, b) in enumerate(zip(words, words[1:]))]
        weights = self._weights([g for _k, g in grams])
        per_term = {j: self.blend.b * v * float(self.coef[j]) for j, v in weights.items()}
        counts = Counter(g for _k, g in grams if g in self.index)
        share = [0.0] * len(toks)
        for positions, g in grams:
            j = self.index.get(g)
            if j is None:
                continue
            each = per_term[j] / counts[g] / len(positions)  # a repeated n-gram: its weight shared by each use
            for k in positions:
                share[k] += each
        return [(s, e, v) for (s, e, _t), v in zip(toks, share)]

    def to_dict(self) -> dict[str, Any]:
        return {"format": LEXICAL_FORMAT, "config": self.config, "evidence": self.evidence,
                "blend": asdict(self.blend), "intercept": float(self.intercept),
                "terms": self.terms, "idf": [float(v) for v in self.idf], "coef": [float(v) for v in self.coef]}

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / LEXICAL_FILE
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")))
        return path


def load(folder: str | Path) -> Lexical | None:
    """The version's lexical part, or None for a version without one (the transformer alone)."""
    path = Path(folder) / LEXICAL_FILE
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text())
        if d.get("format") != LEXICAL_FORMAT:
            raise ModelError(_("{path} has format {found}; this rsad reads format {wanted}.").format(
                path=path, found=d.get("format"), wanted=LEXICAL_FORMAT))
        return Lexical(terms=[str(t) for t in d["terms"]], idf=np.asarray(d["idf"], dtype=np.float64),
                       coef=np.asarray(d["coef"], dtype=np.float64), intercept=float(d["intercept"]),
                       blend=Blend(**{k: float(d["blend"][k]) for k in ("a", "b", "c")}),
                       config=dict(d.get("config", {})), evidence=dict(d.get("evidence", {})))
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelError(_("{path} cannot be read ({kind}: {error}): restore the version folder.").format(
            path=path, kind=type(exc).__name__, error=exc)) from exc
