"""A blended version's word attributions: the transformer's Integrated Gradients, scaled into the
blend, plus the bag of words' exact per-word contributions, in the same log-odds units.

The blend's log-odds are ``a * F(x) + b * L(x) + c`` (rsad.model.lexical). Integrated Gradients
split ``F(x) - F(baseline)`` over the tokens the transformer read; ``a`` times those are each
word's share of the first term. The second term is linear: each n-gram adds ``b * tfidf weight
* coefficient`` to ``L(x) - L(empty text)``, a bigram's share split evenly between its words.
So the words add up to the blend's log-odds change from an all-[PAD], empty text, and the
convergence delta (a gap of Integrated Gradients alone) is judged against the transformer's
part only (:attr:`Explanation.large_delta`). Plain data: no torch here.
"""

from __future__ import annotations

import math
from dataclasses import replace

from rsad.model.explanation import Explanation, WordAttribution
from rsad.model.lexical import Lexical


def _spread(words: list[WordAttribution], start: int, end: int, value: float) -> bool:
    """Add ``value`` to the words overlapping text[start:end], shared by overlapping characters
    (a bag-of-words token can span several of the transformer's words, e.g. ``foo_bar`` or a
    run of CJK characters); False when no word overlaps it."""
    overlaps = [(w, min(end, w.end) - max(start, w.start)) for w in words if w.start < end and w.end > start]
    chars = sum(n for _w, n in overlaps)
    if chars <= 0:
        return False
    for w, n in overlaps:
        w.score += value * n / chars
    return True


def blended(expl: Explanation, lexical: Lexical, text: str, transformer_log_odds: float) -> Explanation:
    """``expl`` (the transformer's, in its own log-odds) turned into the blend's attribution."""
    a = lexical.blend.a
    words = [WordAttribution(start=w.start, end=w.end, text=w.text, score=a * w.score) for w in expl.words]
    extra: list[WordAttribution] = []
    linear = 0.0
    for start, end, value in lexical.contributions(text):
        linear += value
        if not _spread(words, start, end, value):
            # a word the transformer did not read (past its token limit) or a token of its own
            extra.append(WordAttribution(start=start, end=end, text=text[start:end], score=value))
    blend_log_odds = float(lexical.blend.log_odds(transformer_log_odds, lexical.log_odds([text]))[0])
    return replace(expl, words=sorted(words + extra, key=lambda w: (w.start, w.end)), delta=abs(a) * expl.delta,
                   score=0.5 * (1.0 + math.tanh(0.5 * blend_log_odds)), linear=linear)
