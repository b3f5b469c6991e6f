"""Batches on a Store: read, validate and save a file; preview it; find an earlier upload of the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rsad.config import Settings, get_settings
from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.ingest import ColumnMap, PreparedBatch, describe_table, load_batch, read_table
from rsad.data.rowcheck import printable

SKIPPED_HEAD = 5  # skipped rows shown after an upload; the batch keeps them all


def save_batch(store: Store, prepared: PreparedBatch, *, name: str | None = None,
               uploader: str = "cli") -> dict[str, Any]:
    """Write a validated batch in one transaction."""
    name = name or Path(prepared.file_name).stem
    with store.session() as s:
        batch = q.add_batch(s, prepared, name=name, uploader=uploader, project_id=store.project_id)
        return {"id": batch.id, "name": batch.name, "rows": len(prepared),
                "labeled": prepared.n_labeled, "generated_ids": prepared.generated_ids,
                "skipped": len(prepared.skipped), "skipped_head": prepared.skipped[:SKIPPED_HEAD],
                "label_map": prepared.label_map, "rows_in_file": prepared.rows_in_file}


def ingest_file(store: Store, source: str | Path | bytes, *, name: str | None = None,
                uploader: str = "cli", file_name: str | None = None,
                columns: ColumnMap = ColumnMap(), events: bool = False, strict: bool = False) -> dict[str, Any]:
    """Read, validate and store one batch file; nothing is written if a whole-file check fails.

    Unusable rows are skipped: the result has ``skipped`` (count) and ``skipped_head`` (the first
    few, {"row", "id", "reason"}); ``strict`` refuses the file instead."""
    prepared = load_batch(source, file_name=file_name, columns=columns, events=events,
                          max_bytes=store.settings.max_upload_bytes, strict=strict)
    return save_batch(store, prepared, name=name, uploader=uploader)


def preview_table(data: bytes, file_name: str, *, events: bool = False,
                  settings: Settings | None = None) -> pd.DataFrame:
    """The file as read (event logs: as described), for the Upload page's preview and mapping."""

    df = read_table(data, file_name, max_bytes=(settings or get_settings()).max_upload_bytes, strict=False)
    # Bytes that are not UTF-8 show as U+FFFD here; ingest skips their rows.
    if not _is_utf8(data):
        df = df.map(printable)
    return describe_table(df, file_name) if events else df


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def skipped_table(store: Store, ref: str | int) -> pd.DataFrame:
    """A batch's skipped rows (row: data row from 1, id, reason); empty for a batch with none."""
    with store.session() as s:
        report = q.get_batch(s, ref, project_id=store.project_id).ingest_report or {}
    return pd.DataFrame(report.get("skipped", []), columns=["row", "id", "reason"])


def ingest_report(store: Store, ref: str | int) -> dict[str, Any]:
    """A batch's ingest report ({"rows_in_file", "skipped", "label_map"}; {} for a batch from before reports)."""
    with store.session() as s:
        return dict(q.get_batch(s, ref, project_id=store.project_id).ingest_report or {})


def same_file_batch(store: Store, data: bytes) -> str | None:
    """The name of an earlier batch uploaded from exactly these bytes, if any."""
    import hashlib

    with store.session() as s:
        batch = q.find_batch_by_sha(s, hashlib.sha256(data).hexdigest(), project_id=store.project_id)
        return batch.name if batch else None
