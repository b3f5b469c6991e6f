"""What an attribution produces: the words of a text with their scores (``Explanation``).

Plain data, no torch: :mod:`rsad.model.explain` computes it, :mod:`rsad.model.explain_render`
draws it, and the attribution cache stores it as JSON (``to_dict`` / ``from_dict``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# large_delta: the completeness gap may be 5% of the explained change (the usual IG rule of
# thumb), with a floor of 0.01 log-odds (a quarter of a point of probability near 0.5) so that
# texts the model barely tells apart from the all-[PAD] baseline are not flagged for noise.
# 50 steps leave gaps of ~1e-4 or less; 8 steps already break the 5% rule on small models.
DELTA_RELATIVE_TOLERANCE = 0.05
DELTA_ABSOLUTE_FLOOR = 0.01


@dataclass
class WordAttribution:
    """One word of the original text and its attribution."""

    start: int  # character offsets into the ORIGINAL text
    end: int
    text: str  # text[start:end]
    score: float  # summed attribution of the word's sub-word pieces (positive = toward anomaly)


@dataclass
class Explanation:
    """Word attributions of one text, with what is needed to judge and cache them."""

    words: list[WordAttribution]
    delta: float  # |Captum convergence delta|, in log-odds
    n_steps: int
    method: str  # "lig"
    score: float  # model P(anomaly) for the text
    covered_chars: int  # text[:covered_chars] was seen by the model; the rest was truncated
    truncated: bool
    seconds: float
    n_tokens: int = 0  # tokens the model saw, [CLS]/[SEP] included (0: unknown)
    skipped: list[int] | None = None  # head+tail truncation: text[start:end] in the middle was not seen
    # A blended version (rsad.model.explain_blend): the bag of words' share of ``total``, exact;
    # the rest is Integrated Gradients'. 0 for the transformer alone.
    linear: float = 0.0
    # Integrated-gradient steps computed in all: with early stopping (rsad.model.explain) the
    # rungs tried before ``n_steps``, the steps of the kept one, included. 0: not recorded.
    steps_computed: int = 0
    change: float = 0.0  # F(x) - F(baseline): what the word scores explain, in log-odds (0: not recorded)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only, for the attribution cache."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Explanation:
        d = dict(d)
        words = [WordAttribution(**w) for w in d.pop("words")]
        return cls(words=words, **d)

    @property
    def total(self) -> float:
        """Sum of the word scores: F(x) - F(baseline) in anomaly log-odds, up to the delta."""
        return float(sum(w.score for w in self.words))

    @property
    def large_delta(self) -> bool:
        """True when the completeness gap is too big to trust the scores (see the constants). The
        gap is Integrated Gradients' alone: it is judged against their part of the total."""
        tolerance = max(DELTA_RELATIVE_TOLERANCE * abs(self.total - self.linear), DELTA_ABSOLUTE_FLOOR)
        return self.delta > tolerance
