"""Read and validate an uploaded batch; nothing here touches the store.

``load_batch`` turns a file (path or bytes) into a :class:`PreparedBatch`, or raises
:class:`InputError` with a message that says what to fix. The store writes a prepared batch
in one transaction, so a bad file never leaves half a batch behind.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rsad.data.describe import describe_events
from rsad.data.labelmap import ColumnMap, describe_map, id_column, label_column, map_labels, text_column
from rsad.data.reading import FORMATS, _rows, file_format, read_table  # noqa: F401 - part of this module's API
from rsad.data.rowcheck import (  # noqa: F401 - MAX_TEXT_CHARS: part of this module's API
    MAX_TEXT_CHARS,
    check_texts,
    no_usable_rows,
    printable,
    skipped_rows,
    undecodable,
)
from rsad.errors import InputError
from rsad.i18n import _


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
    # Rows of the file left out ({"row": data row from 1, "id", "reason"}), and the label values used.
    skipped: list[dict[str, Any]] = field(default_factory=list)
    label_map: dict[str, Any] | None = None
    rows_in_file: int = 0

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_labeled(self) -> int:
        return sum(label is not None for label in self.labels)

    def report(self) -> dict[str, Any]:
        """What the store keeps as the batch's ingest report."""
        return {"rows_in_file": self.rows_in_file or len(self) + len(self.skipped), "skipped": self.skipped,
                "label_map": self.label_map}

    def labeled_table(self) -> pd.DataFrame:
        """(id, text, label) of the labeled rows, for training and evaluation."""
        df = pd.DataFrame({"id": self.ids, "text": self.texts, "label": self.labels})
        df = df[df["label"].notna()].copy()
        df["label"] = df["label"].astype(int)
        return df.reset_index(drop=True)


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


def parse_labels(values: pd.Series, column: str, anomaly_values: tuple[str, ...] = ()) -> list[int | None]:
    """Labels of one column (see :func:`map_labels`); a value that is not a label is an error naming its rows."""
    labels, bad, _ = map_labels(values, column, anomaly_values=anomaly_values, strict=True, file_name=column)
    if bad:
        raise InputError(_bad_labels(values, column, bad, list(range(1, len(values) + 1))))
    return labels


def _bad_labels(values: pd.Series, column: str, bad: list[int], numbers: list[int]) -> str:
    sample = ", ".join(repr(values.iloc[p]) for p in bad[:3])
    return _("Column {column!r} has values that are not labels in {rows} "
             "(e.g. {sample}). Use 1/0, true/false, yes/no, anomaly/normal (or spam/ham, fake/real, …), say "
             "which values mean anomaly (--anomaly-values), or leave the cell empty for unlabeled.").format(
                 column=column, rows=_rows([numbers[p] for p in bad]), sample=sample)


def _labels(df: pd.DataFrame, column: str | None, columns: ColumnMap, file_name: str, numbers: list[int],
            strict: bool, skip: dict[int, str]) -> tuple[list[int | None], dict[str, Any] | None]:
    """The labels and the label map; unreadable labels are skipped rows (strict: an error)."""
    if column is None:
        return [None] * len(df), None
    labels, bad, used = map_labels(df[column], column, anomaly_values=columns.anomaly_values, strict=strict,
                                   file_name=file_name, numbers=numbers)
    if bad and strict:
        raise InputError(f"{file_name}: {_bad_labels(df[column], column, bad, numbers)}")
    for i in bad:
        value = printable(str(df[column].iloc[i]).strip())
        skip.setdefault(i, _("label {value!r} in column {column!r} is not a label value ({labels})").format(
            value=value, column=column, labels=describe_map(used)))
    return labels, used


def _raw_ids(values: pd.Series) -> list[str]:
    return [("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()) for v in values.tolist()]


def _checked_ids(ids: list[str], column: str, file_name: str, numbers: list[int]) -> list[str]:
    """The ids, if every one is usable: filled in, unique, short, without NUL."""
    def rows(positions: list[int] | np.ndarray) -> str:
        return _rows([numbers[int(i)] for i in positions])

    blank = [i for i, v in enumerate(ids) if not v]
    if blank:
        raise InputError(_("{file_name}: empty id in column {column!r} at {blank}. Fill them in, or map no id "
                           "column and rsad makes ids from the texts.").format(file_name=file_name, column=column,
                                                                               blank=rows(blank)))
    dup_mask = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup_mask.any():
        dups = sorted({ids[i] for i in np.flatnonzero(dup_mask)})
        raise InputError(
            _("{file_name}: duplicate ids in column {column!r} at {rows} ({dups}). Ids must be unique.").format(
                file_name=file_name, column=column, rows=rows(np.flatnonzero(dup_mask)),
                dups=", ".join(map(repr, dups[:5])) + ("…" if len(dups) > 5 else ""))
        )
    nul = [i for i, v in enumerate(ids) if "\x00" in v]
    if nul:
        raise InputError(_("{file_name}: NUL characters (\\x00) in column {column!r} at {nul}: remove them.").format(
                             file_name=file_name, column=column, nul=rows(nul)))
    too_long = [i for i, v in enumerate(ids) if len(v) > 200]
    if too_long:
        raise InputError(_("{file_name}: ids longer than 200 characters in column {column!r} at {too_long}: "
                           "shorten them, or check that the id column is the right one.").format(
                             file_name=file_name, column=column, too_long=rows(too_long)))
    return ids


def _ids(df: pd.DataFrame, column: str | None, guessed: bool, texts: list[str], file_name: str,
         numbers: list[int]) -> tuple[list[str], str | None]:
    """(ids, the id column used); a column guessed by its name is used only if its ids are usable."""
    if column is not None:
        try:
            return _checked_ids(_raw_ids(df[column]), column, file_name, numbers), column
        except InputError:
            if not guessed:
                raise
    return _generated_ids(texts), None


def prepare(df: pd.DataFrame, file_name: str, sha256: str, columns: ColumnMap = ColumnMap(), *,
            label_required: bool = False, strict: bool = False,
            row_numbers: list[int] | None = None) -> PreparedBatch:
    """Validate a table and split it into ids, texts, labels and metadata.

    Rows that cannot be used are left out and listed in ``skipped`` (``strict``: the file is
    refused instead). ``row_numbers``: each row's data-row number in the file (default 1, 2, …).
    """
    found = list(df.columns)
    df = df.reset_index(drop=True)
    numbers = list(row_numbers) if row_numbers is not None else list(range(1, len(df) + 1))
    text_col = text_column(found, columns, file_name)
    texts, skip = check_texts(df[text_col], file_name, text_col, numbers, strict)
    for i, reason in undecodable(df).items():
        if strict:
            raise InputError(_("{file_name}: row {row}: {reason}.").format(file_name=file_name, row=numbers[i],
                                                                               reason=reason))
        skip.setdefault(i, reason)
    label_col = label_column(df, columns, text_col, file_name)
    if label_col is None and label_required:
        raise InputError(_("{file_name} has no label column {label!r} (columns found: {found}). Pick it with "
                           "--label-col.").format(file_name=file_name, label=columns.label,
                                                  found=', '.join(map(repr, found))))
    labels, label_map = _labels(df, label_col, columns, file_name, numbers, strict, skip)
    id_col, guessed = id_column(found, columns, {text_col, label_col})
    skipped = skipped_rows(skip, numbers, None if id_col is None else _raw_ids(df[id_col]))
    if skip:
        keep = [i for i in range(len(df)) if i not in skip]
        if not keep:
            raise no_usable_rows(file_name, skipped)
        df = df.iloc[keep].reset_index(drop=True)
        texts, labels, numbers = [texts[i] for i in keep], [labels[i] for i in keep], [numbers[i] for i in keep]
    if label_required and not any(label is not None for label in labels):
        raise InputError(_("{file_name}: the label column {label_col!r} is empty in every row.").format(
                             file_name=file_name, label_col=label_col))
    ids, id_col = _ids(df, id_col, guessed, texts, file_name, numbers)
    meta_cols = [c for c in df.columns if c not in {text_col, label_col, id_col}]
    # Column by column: most cells are plain strings (CSV is read as text), checked once each.
    values = [[v if type(v) is str else _json_safe(v) for v in df[c].tolist()] for c in meta_cols]
    meta = [dict(zip(meta_cols, row)) for row in zip(*values)] if meta_cols else [{} for _ in texts]
    return PreparedBatch(file_name=file_name, sha256=sha256, ids=ids, texts=texts, labels=labels, meta=meta,
                         columns=found, generated_ids=id_col is None, skipped=skipped, label_map=label_map,
                         rows_in_file=len(numbers) + len(skipped))


def describe_table(df: pd.DataFrame, file_name: str) -> pd.DataFrame:
    """An event log's table as one behavior description per user; errors name the file."""

    try:
        return describe_events(df)
    except InputError as exc:
        raise InputError(_("{file_name} (event log): {exc}").format(file_name=file_name, exc=exc)) from None


def load_batch(source: str | Path | bytes, *, file_name: str | None = None,
               columns: ColumnMap = ColumnMap(), max_bytes: int | None = None,
               label_required: bool = False, events: bool = False,
               split: tuple[str, str] | None = None, strict: bool = False) -> PreparedBatch:
    """Read, (optionally) describe event logs, filter a split, and validate one batch file.

    ``split`` is (column, value): keep only rows whose column equals value (e.g. train/test).
    Unusable rows are skipped and listed on the batch; ``strict`` refuses the file instead.
    """
    if isinstance(source, bytes):
        data, name = source, file_name or "upload"
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError(_("No such file: {path}").format(path=path))
        name = file_name or path.name
        if max_bytes is not None and path.stat().st_size > max_bytes:
            read_table(b"x" * (max_bytes + 1), name, max_bytes=max_bytes)  # raises the size error
        data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    df = read_table(data, name, max_bytes=max_bytes, strict=strict).reset_index(drop=True)
    if split is not None:
        col, value = split
        if col not in df.columns:
            raise InputError(_("{name} has no split column {col!r} (columns found: {columns}).").format(
                                 name=name, col=col, columns=', '.join(df.columns)))
        df = df[df[col].astype(str) == value]  # the index keeps each row's place in the file
        if df.empty:
            raise InputError(_("{name}: no rows with {col} = {value!r}.").format(name=name, col=col, value=value))
    if events:
        df = describe_table(df, name)
        columns = ColumnMap()
    numbers = None if events else [int(i) + 1 for i in df.index]
    return prepare(df, name, sha, columns, label_required=label_required, strict=strict, row_numbers=numbers)
