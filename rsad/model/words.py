"""Token attributions merged into the words an analyst reads, in English and in Chinese.

BERT tokenizers cut English into sub-word pieces ("un ##bel ##ie ##va ##bly") and Chinese into
single characters (each Han character is its own pre-token). Pieces become words by their
character offsets, never by their token strings: an [UNK] piece still points at the characters it
stands for. English pieces join when the tokenizer put them in the same pre-token word; runs of
Chinese characters are cut into words by jieba (用户/在/5/分钟/内/下单/30/次), and the pieces inside
one jieba word join, their attributions summed as sub-words' are.

jieba loads a dictionary of ~350,000 words (about a second, more on a busy machine), so it is
imported and loaded only when a text holds a Han character, once per process, under a lock (two
explanations at once must not load it twice), with its log lines silenced.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from rsad.model.explanation import WordAttribution

# The Han ranges BERT's tokenizer splits into single characters (BasicTokenizer._is_chinese_char).
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ceaf"
                 "\U0002f800-\U0002fa1f]")

_segmenter: Any = None
_segmenter_lock = threading.Lock()


def has_han(text: str) -> bool:
    """Whether ``text`` holds a Chinese (Han) character, i.e. needs word segmentation."""
    return HAN.search(text) is not None


def _jieba() -> Any:
    """The process's jieba tokenizer, its dictionary loaded (once, quietly, thread-safe)."""
    global _segmenter
    if _segmenter is None:
        with _segmenter_lock:
            if _segmenter is None:
                import jieba

                # jieba prints "Building prefix dict ..." at DEBUG on its own stderr handler.
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _segmenter = tokenizer
    return _segmenter


def han_words(text: str) -> list[tuple[str, int, int]]:
    """jieba's words of ``text`` with their spans: (word, start, end)."""
    return list(_jieba().tokenize(text))


def han_segments(text: str) -> list[int | None]:
    """Per character of ``text``: the number of the jieba word holding it, for words with a Han
    character; None elsewhere (English, digits, spaces and punctuation keep BERT's own words)."""
    seg: list[int | None] = [None] * len(text)
    if not has_han(text):
        return seg
    for n, (word, start, end) in enumerate(_jieba().tokenize(text)):
        if has_han(word):
            seg[start:end] = [n] * (end - start)
    return seg


def merge_words(text: str, offsets: list[tuple[int, int]], special: list[int],
                word_ids: list[int | None], scores: list[float]) -> list[WordAttribution]:
    """Token pieces -> words with character offsets into the original text.

    A piece joins the current word when it touches it (start == previous end) and either the
    tokenizer put both in the same pre-token word ("un ##bel ##ie ##va ##bly") or jieba put them
    in the same Chinese word ("刷" + "单"). Punctuation stays separate, and a text without Han
    characters is merged exactly as before jieba was used (its cached attributions stay valid).
    """
    seg = han_segments(text)
    words: list[WordAttribution] = []
    last_word_id: int | None = None
    for (start, end), is_special, wid, score in zip(offsets, special, word_ids, scores):
        if is_special:
            continue  # [CLS]/[SEP] are the same in the baseline: their attribution is exactly 0
        if end <= start:  # an empty piece: keep its score so the words still add up
            if words:
                words[-1].score += score
            continue
        touches = bool(words) and words[-1].end == start
        same_pre_token = wid is None or wid == last_word_id
        same_han_word = touches and seg[start] is not None and seg[start] == seg[words[-1].end - 1]
        if touches and (same_pre_token or same_han_word):
            words[-1].end = end
            words[-1].score += score
        else:
            words.append(WordAttribution(start=start, end=end, text="", score=score))
        last_word_id = wid
    for w in words:
        w.text = text[w.start:w.end]
    return words
