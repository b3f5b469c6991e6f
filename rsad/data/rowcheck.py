"""Row by row checks of an upload: which rows cannot be used, and why.

A tolerant upload skips such rows and reports them (row number, id, reason); a strict one
(``--strict``) refuses the whole file with the first problem, as rsad always did.
Row numbers are data rows counted from 1 (the first row under the header).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from rsad.data.reading import _rows
from rsad.errors import InputError
from rsad.i18n import N_, _, ngettext

# The model reads 128 tokens (a few hundred characters); a text this long is a pasted log or
# a file in the wrong column, and would bloat the store and every page that shows it.
MAX_TEXT_CHARS = 50_000
# Characters that print nothing: a text made only of these (and spaces) is empty to the model.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
# Bytes that are not UTF-8 come out of the reader as lone surrogates (surrogateescape).
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
BAD_BYTES = N_("not UTF-8: bad bytes in column {column!r} (if many rows say this, the file is in another "
             "encoding: save it as CSV UTF-8)")


def _is_empty(text: str) -> bool:
    # Only a text that starts with an invisible character can be all invisible: check those alone.
    s = text.strip()
    return not s or (ord(s[0]) in _INVISIBLE and not s.translate(_INVISIBLE).strip())


def check_texts(raw: pd.Series, file_name: str, column: str, numbers: list[int],
                strict: bool) -> tuple[list[str], dict[int, str]]:
    """The text column as strings, and {position: reason} of the texts the model cannot read.

    ``strict`` raises the first kind of problem instead, naming its rows."""
    values = raw.tolist()
    nested = [i for i, v in enumerate(values) if isinstance(v, dict | list | np.ndarray)]
    if nested:
        raise InputError(_("{file_name}: column {column!r} holds JSON objects or lists at {rows}, not text. "
                           "Flatten the file so that each case's text is one string.").format(
                             file_name=file_name, column=column, rows=_rows([numbers[i] for i in nested])))
    texts = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]
    problems = [
        ([i for i, t in enumerate(texts) if _is_empty(t)],
         _("empty text (blank, or only spaces and invisible characters)"),
         _("empty text in column {column!r} at {rows} (blank, or only spaces and invisible characters). "
           "Fill them in or remove those rows.")),
        ([i for i, t in enumerate(texts) if len(t) > MAX_TEXT_CHARS],
         None,  # each row says its own length
         _("text in column {column!r} at {rows} is {length:,} characters long, over the {limit:,} "
           "limit. The model reads only a few hundred characters of it (the first, or the first and the "
           "last): shorten it, or check that the right column holds the text.")),
        ([i for i, t in enumerate(texts) if "\x00" in t], _("NUL characters (\\x00) in the text"),
         _("NUL characters (\\x00) in column {column!r} at {rows}: remove them (they are invisible, and "
           "PostgreSQL cannot store them).")),
    ]
    skip: dict[int, str] = {}
    for positions, reason, message in problems:
        if positions and strict:
            raise InputError(f"{file_name}: " + message.format(
                column=column, rows=_rows([numbers[i] for i in positions]), length=len(texts[positions[0]]),
                limit=MAX_TEXT_CHARS))
        for i in positions:
            skip.setdefault(i, reason or _("text is {length:,} characters long, over the {limit:,} limit").format(
                length=len(texts[i]), limit=MAX_TEXT_CHARS))
    return texts, skip


def undecodable(df: pd.DataFrame) -> dict[int, str]:
    """{position: reason} of the rows with bytes that were not UTF-8, or a NUL, in some cell."""
    skip: dict[int, str] = {}
    for column in df.columns:
        if df[column].dtype != object:
            continue
        for i, v in enumerate(df[column].tolist()):
            if type(v) is str and i not in skip and (bad := _UNSTORABLE.search(v)):
                skip[i] = (_("NUL characters (\\x00) in column {column!r}") if bad.group() == "\x00"
                           else _(BAD_BYTES)).format(column=column)
    return skip


def printable(value: Any) -> Any:
    """A value from the file with any undecodable bytes shown as U+FFFD (for reports and previews)."""
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def skipped_rows(skip: dict[int, str], numbers: list[int], ids: list[Any] | None) -> list[dict[str, Any]]:
    """The report's rows: {"row", "id", "reason"} in file order."""
    return [{"row": int(numbers[i]), "id": None if ids is None else printable(ids[i]), "reason": skip[i]}
            for i in sorted(skip)]


def no_usable_rows(file_name: str, skipped: list[dict[str, Any]]) -> InputError:
    """The error for a file whose every row was skipped."""
    reasons: dict[str, int] = {}
    for row in skipped:
        reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
    summary = "; ".join(ngettext("{reason} ({n} row)", "{reason} ({n} rows)", n).format(reason=r, n=n)
                        for r, n in list(reasons.items())[:3])
    return InputError(_("{file_name}: no usable rows, every row would be skipped: {summary}.").format(
        file_name=file_name, summary=summary))
