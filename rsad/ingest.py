"""Read and validate an uploaded batch; nothing here touches the store.

``load_batch`` turns a file (path or bytes) into a :class:`PreparedBatch`, or raises
:class:`InputError` with a message that says what to fix. The store writes a prepared batch
in one transaction, so a bad file never leaves half a batch behind.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rsad.errors import InputError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "tsv", ".jsonl": "jsonl",
           ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}
TRUE_LABELS = {"1", "true", "yes", "anomaly", "1.0"}
FALSE_LABELS = {"0", "false", "no", "normal", "0.0"}


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


def file_format(file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{file_name}: unsupported file type {suffix or '(none)'!r}. "
            "Upload CSV (.csv), TSV (.tsv), JSON Lines (.jsonl) or Parquet (.parquet)."
        )
    return FORMATS[suffix]


def _decode(data: bytes, file_name: str) -> str:
    if b"\x00" in data[:4096]:
        raise InputError(f"{file_name} looks binary, not text: check that you picked the right file.")
    try:
        return data.decode("utf-8-sig")  # -sig: Excel writes a byte-order mark
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{file_name} is not UTF-8 (bad byte at line {line}). Save it as UTF-8 "
            "(in Excel: 'CSV UTF-8') and upload again."
        ) from None


def _read_jsonl(text: str, file_name: str) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{file_name}, line {number}: not valid JSON ({exc.msg}).") from None
        if not isinstance(obj, dict):
            raise InputError(f"{file_name}, line {number}: each line must be a JSON object {{...}}.")
        records.append(obj)
    return pd.DataFrame.from_records(records)


def read_table(data: bytes, file_name: str, *, max_bytes: int | None = None) -> pd.DataFrame:
    """Parse a file's bytes into a DataFrame of the file's own columns (values as read)."""
    fmt = file_format(file_name)
    if max_bytes is not None and len(data) > max_bytes:
        raise InputError(
            f"{file_name} is {len(data) / 2**20:.1f} MB, over the {max_bytes / 2**20:.0f} MB limit "
            "(RSAD_MAX_UPLOAD_MB): split it into smaller batches."
        )
    if not data.strip():
        raise InputError(f"{file_name} is empty.")
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            df = pq.read_table(io.BytesIO(data)).to_pandas()
        else:
            text = _decode(data, file_name)
            if fmt == "jsonl":
                df = _read_jsonl(text, file_name)
            elif fmt == "json":
                stripped = text.lstrip()
                if stripped.startswith("["):
                    df = pd.DataFrame.from_records(json.loads(text))
                else:
                    df = _read_jsonl(text, file_name)
            else:
                df = pd.read_csv(io.StringIO(text), sep="," if fmt == "csv" else "\t", dtype=str,
                                 keep_default_na=False, na_values=[""], on_bad_lines="error")
    except InputError:
        raise
    except pd.errors.ParserError as exc:
        raise InputError(f"{file_name}: rows do not line up with the header ({exc}). "
                         "Check quoting and the number of separators per row.") from None
    except (ValueError, TypeError, OSError) as exc:
        kind = {"parquet": "a valid Parquet file (is it truncated?)", "json": "a JSON array of objects"}
        raise InputError(f"{file_name} is not {kind.get(fmt, 'readable')}: {exc}") from None
    if len(df.columns) == 0:
        raise InputError(f"{file_name} has no columns.")
    if len(df) == 0:
        raise InputError(f"{file_name} has a header but no data rows.")
    df.columns = [str(c).strip() for c in df.columns]
    return df


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


def prepare(df: pd.DataFrame, file_name: str, sha256: str,
            columns: ColumnMap = ColumnMap(), *, label_required: bool = False) -> PreparedBatch:
    """Validate a table and split it into ids, texts, labels and metadata."""
    found = list(df.columns)
    if columns.text not in df.columns:
        raise InputError(
            f"{file_name} has no text column {columns.text!r}. Columns found: "
            f"{', '.join(map(repr, found))}. Pick the text column (--text-col, or the mapping on Upload)."
        )
    raw = df[columns.text]
    texts = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in raw.tolist()]
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise InputError(f"{file_name}: empty text in column {columns.text!r} at {_rows(empty)}. "
                         "Fill them in or remove those rows.")

    if columns.label is not None and columns.label in df.columns:
        labels = parse_labels(df[columns.label], columns.label)
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
            raise InputError(f"{file_name}: empty id in column {columns.id!r} at {_rows(blank)}.")
        dup_mask = pd.Series(ids).duplicated(keep=False).to_numpy()
        if dup_mask.any():
            dups = sorted({ids[i] for i in np.flatnonzero(dup_mask)})
            raise InputError(
                f"{file_name}: duplicate ids in column {columns.id!r} at {_rows(np.flatnonzero(dup_mask))} "
                f"({', '.join(map(repr, dups[:5]))}{'…' if len(dups) > 5 else ''}). Ids must be unique."
            )
        too_long = [i for i, v in enumerate(ids) if len(v) > 200]
        if too_long:
            raise InputError(f"{file_name}: ids longer than 200 characters at {_rows(too_long)}.")

    meta_cols = [c for c in df.columns if c not in {columns.text, columns.label, columns.id}]
    # Column by column: most cells are plain strings (CSV is read as text), checked once each.
    values = [[v if type(v) is str else _json_safe(v) for v in df[c].tolist()] for c in meta_cols]
    meta = [dict(zip(meta_cols, row)) for row in zip(*values)] if meta_cols else [{} for _ in texts]
    return PreparedBatch(file_name=file_name, sha256=sha256, ids=ids, texts=texts, labels=labels,
                         meta=meta, columns=found, generated_ids=generated)


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
        from rsad.describe import describe_events

        df = describe_events(df)
        columns = ColumnMap()
    return prepare(df, name, sha, columns, label_required=label_required)
