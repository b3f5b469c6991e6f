"""Read and validate an uploaded batch; nothing here touches the store.

``load_batch`` turns a file (path or bytes) into a :class:`PreparedBatch`, or raises
:class:`InputError` with a message that says what to fix. The store writes a prepared batch
in one transaction, so a bad file never leaves half a batch behind.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rsad.data.describe import describe_events
from rsad.data.reading import FORMATS, file_format, read_table  # noqa: F401 - part of this module's API
from rsad.errors import InputError

TRUE_LABELS = {"1", "true", "yes", "anomaly", "1.0"}
FALSE_LABELS = {"0", "false", "no", "normal", "0.0"}
# The model reads 128 tokens (a few hundred characters); a text this long is a pasted log or
# a file in the wrong column, and would bloat the store and every page that shows it.
MAX_TEXT_CHARS = 50_000
# Characters that print nothing: a text made only of these (and spaces) is empty to the model.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


@dataclass(frozen=True)
class ColumnMap:
    """Which columns hold the text, the label and the id (None: the file has no such column)."""

    text: str = "behavior_description"
    label: str | None = "is_anomaly"
    id: str | None = "case_id"


@dataclass
class PreparedBatch:
    """A validated batch, ready to be written to the store or used for training."""

    file_name: str
    sha256: str
    ids: list[str]
    texts: list[str]
    labels: list[int | None]
    meta: list[dict[str, Any]]
    columns: list[str] = field(default_factory=list)
    generated_ids: bool = False

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_labeled(self) -> int:
        return sum(label is not None for label in self.labels)

    def labeled_table(self) -> pd.DataFrame:
        """(id, text, label) of the labeled rows, for training and evaluation."""
        df = pd.DataFrame({"id": self.ids, "text": self.texts, "label": self.labels})
        df = df[df["label"].notna()].copy()
        df["label"] = df["label"].astype(int)
        return df.reset_index(drop=True)


def _rows(positions: list[int] | np.ndarray, limit: int = 10) -> str:
    """'rows 3, 7 and 2 more' with 1-based data-row numbers."""
    nums = [str(int(p) + 1) for p in positions]
    head = ", ".join(nums[:limit])
    more = f" and {len(nums) - limit} more" if len(nums) > limit else ""
    return f"row{'s' if len(nums) > 1 else ''} {head}{more}"


def parse_labels(values: pd.Series, column: str) -> list[int | None]:
    """0/1, true/false, yes/no, anomaly/normal in any case; blank = unlabeled."""
    out: list[int | None] = []
    bad: list[int] = []
    for pos, value in enumerate(values.tolist()):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
            continue
        key = str(value).strip().lower()
        if key == "":
            out.append(None)
        elif key in TRUE_LABELS:
            out.append(1)
        elif key in FALSE_LABELS:
            out.append(0)
        else:
            out.append(None)
            bad.append(pos)
    if bad:
        sample = ", ".join(repr(values.iloc[p]) for p in bad[:3])
        raise InputError(
            f"Column {column!r} has values that are not labels in {_rows(bad)} (e.g. {sample}). "
            "Use 1/0, true/false, yes/no or anomaly/normal, or leave the cell empty for unlabeled."
        )
    return out


def _json_safe(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    return value if isinstance(value, str | int | bool) else str(value)


def _generated_ids(texts: list[str]) -> list[str]:
    """Stable ids from the text: the same file gets the same ids on every upload."""
    seen: dict[str, int] = {}
    ids = []
    for text in texts:
        base = "row-" + hashlib.sha256(text.encode()).hexdigest()[:12]
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def _did_you_mean(wanted: str, found: list[str]) -> str:
    """' Did you mean 'Behavior Description'?' when a column differs only in spelling or case."""
    norm = {"".join(ch for ch in c.lower() if ch.isalnum()): c for c in found}
    key = "".join(ch for ch in wanted.lower() if ch.isalnum())
    close = difflib.get_close_matches(key, list(norm), n=1, cutoff=0.75)
    return f" Did you mean {norm[close[0]]!r}?" if close else ""


def _texts(raw: pd.Series, file_name: str, column: str) -> list[str]:
    """The text column as strings, refusing what the model cannot read."""
    values = raw.tolist()
    nested = [i for i, v in enumerate(values) if isinstance(v, dict | list | np.ndarray)]
    if nested:
        raise InputError(f"{file_name}: column {column!r} holds JSON objects or lists at {_rows(nested)}, "
                         "not text. Flatten the file so that each case's text is one string.")
    texts = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]
    # Only a text that starts with an invisible character can be all invisible: check those alone.
    empty = [i for i, t in enumerate(texts)
             if not (s := t.strip()) or (ord(s[0]) in _INVISIBLE and not s.translate(_INVISIBLE).strip())]
    if empty:
        raise InputError(f"{file_name}: empty text in column {column!r} at {_rows(empty)} (blank, or only "
                         "spaces and invisible characters). Fill them in or remove those rows.")
    long = [i for i, t in enumerate(texts) if len(t) > MAX_TEXT_CHARS]
    if long:
        raise InputError(
            f"{file_name}: text in column {column!r} at {_rows(long)} is {len(texts[long[0]]):,} characters "
            f"long, over the {MAX_TEXT_CHARS:,} limit. The model reads only a few hundred characters "
            "of it (the first, or the first and the last): shorten it, or check that the right column holds the text.")
    nul = [i for i, t in enumerate(texts) if "\x00" in t]
    if nul:
        raise InputError(f"{file_name}: NUL characters (\\x00) in column {column!r} at {_rows(nul)}: remove "
                         "them (they are invisible, and PostgreSQL cannot store them).")
    return texts


def prepare(df: pd.DataFrame, file_name: str, sha256: str,
            columns: ColumnMap = ColumnMap(), *, label_required: bool = False) -> PreparedBatch:
    """Validate a table and split it into ids, texts, labels and metadata."""
    found = list(df.columns)
    if columns.text not in df.columns:
        raise InputError(
            f"{file_name} has no text column {columns.text!r}. Columns found: "
            f"{', '.join(map(repr, found))}.{_did_you_mean(columns.text, found)} Pick the text column "
            "(--text-col, or the mapping on Upload)."
        )
    texts = _texts(df[columns.text], file_name, columns.text)

    if columns.label is not None and columns.label in df.columns:
        try:
            labels = parse_labels(df[columns.label], columns.label)
        except InputError as exc:
            raise InputError(f"{file_name}: {exc}") from None
    elif label_required:
        raise InputError(f"{file_name} has no label column {columns.label!r} (columns found: "
                         f"{', '.join(map(repr, found))}). Pick it with --label-col.")
    else:
        labels = [None] * len(texts)
    if label_required and not any(label is not None for label in labels):
        raise InputError(f"{file_name}: the label column {columns.label!r} is empty in every row.")

    generated = columns.id is None or columns.id not in df.columns
    if generated:
        ids = _generated_ids(texts)
    else:
        ids = [("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip())
               for v in df[columns.id].tolist()]
        blank = [i for i, v in enumerate(ids) if not v]
        if blank:
            raise InputError(f"{file_name}: empty id in column {columns.id!r} at {_rows(blank)}. Fill them "
                             "in, or map no id column and rsad makes ids from the texts.")
        dup_mask = pd.Series(ids).duplicated(keep=False).to_numpy()
        if dup_mask.any():
            dups = sorted({ids[i] for i in np.flatnonzero(dup_mask)})
            raise InputError(
                f"{file_name}: duplicate ids in column {columns.id!r} at {_rows(np.flatnonzero(dup_mask))} "
                f"({', '.join(map(repr, dups[:5]))}{'…' if len(dups) > 5 else ''}). Ids must be unique."
            )
        nul = [i for i, v in enumerate(ids) if "\x00" in v]
        if nul:
            raise InputError(f"{file_name}: NUL characters (\\x00) in column {columns.id!r} at {_rows(nul)}: "
                             "remove them.")
        too_long = [i for i, v in enumerate(ids) if len(v) > 200]
        if too_long:
            raise InputError(f"{file_name}: ids longer than 200 characters in column {columns.id!r} at "
                             f"{_rows(too_long)}: shorten them, or check that the id column is the right one.")

    meta_cols = [c for c in df.columns if c not in {columns.text, columns.label, columns.id}]
    # Column by column: most cells are plain strings (CSV is read as text), checked once each.
    values = [[v if type(v) is str else _json_safe(v) for v in df[c].tolist()] for c in meta_cols]
    meta = [dict(zip(meta_cols, row)) for row in zip(*values)] if meta_cols else [{} for _ in texts]
    return PreparedBatch(file_name=file_name, sha256=sha256, ids=ids, texts=texts, labels=labels,
                         meta=meta, columns=found, generated_ids=generated)


def describe_table(df: pd.DataFrame, file_name: str) -> pd.DataFrame:
    """An event log's table as one behavior description per user; errors name the file."""

    try:
        return describe_events(df)
    except InputError as exc:
        raise InputError(f"{file_name} (event log): {exc}") from None


def load_batch(source: str | Path | bytes, *, file_name: str | None = None,
               columns: ColumnMap = ColumnMap(), max_bytes: int | None = None,
               label_required: bool = False, events: bool = False,
               split: tuple[str, str] | None = None) -> PreparedBatch:
    """Read, (optionally) describe event logs, filter a split, and validate one batch file.

    ``split`` is (column, value): keep only rows whose column equals value (e.g. train/test).
    """
    if isinstance(source, bytes):
        data, name = source, file_name or "upload"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"No such file: {path}")
        name = file_name or path.name
        if max_bytes is not None and path.stat().st_size > max_bytes:
            read_table(b"x" * (max_bytes + 1), name, max_bytes=max_bytes)  # raises the size error
        data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    df = read_table(data, name, max_bytes=max_bytes)
    if split is not None:
        col, value = split
        if col not in df.columns:
            raise InputError(f"{name} has no split column {col!r} (columns found: {', '.join(df.columns)}).")
        df = df[df[col].astype(str) == value].reset_index(drop=True)
        if df.empty:
            raise InputError(f"{name}: no rows with {col} = {value!r}.")
    if events:
        df = describe_table(df, name)
        columns = ColumnMap()
    return prepare(df, name, sha, columns, label_required=label_required)
