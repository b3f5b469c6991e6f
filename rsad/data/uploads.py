"""Batches on a Store: read, validate and save a file; preview it; find an earlier upload of the same bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from rsad.config import Settings, get_settings
from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.ingest import ColumnMap, PreparedBatch, describe_table, load_batch, read_table


def save_batch(store: Store, prepared: PreparedBatch, *, name: str | None = None,
               uploader: str = "cli") -> dict[str, Any]:
    """Write a validated batch in one transaction."""
    name = name or Path(prepared.file_name).stem
    with store.session() as s:
        batch = q.add_batch(s, prepared, name=name, uploader=uploader, project_id=store.project_id)
        return {"id": batch.id, "name": batch.name, "rows": len(prepared),
                "labeled": prepared.n_labeled, "generated_ids": prepared.generated_ids}


def ingest_file(store: Store, source: str | Path | bytes, *, name: str | None = None,
                uploader: str = "cli", file_name: str | None = None,
                columns: ColumnMap = ColumnMap(), events: bool = False) -> dict[str, Any]:
    """Read, validate and store one batch file; nothing is written if any check fails."""
    prepared = load_batch(source, file_name=file_name, columns=columns, events=events,
                          max_bytes=store.settings.max_upload_bytes)
    return save_batch(store, prepared, name=name, uploader=uploader)


def preview_table(data: bytes, file_name: str, *, events: bool = False,
                  settings: Settings | None = None) -> pd.DataFrame:
    """The file as read (event logs: as described), for the Upload page's preview and mapping."""

    df = read_table(data, file_name, max_bytes=(settings or get_settings()).max_upload_bytes)
    return describe_table(df, file_name) if events else df


def same_file_batch(store: Store, data: bytes) -> str | None:
    """The name of an earlier batch uploaded from exactly these bytes, if any."""
    import hashlib

    with store.session() as s:
        batch = q.find_batch_by_sha(s, hashlib.sha256(data).hexdigest(), project_id=store.project_id)
        return batch.name if batch else None
