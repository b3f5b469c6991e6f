"""Batches for the pages and the CLI: open the store, upload (read, validate, save), score,
compute attributions ahead, the overview, delete (admins), the demo bootstrap, schema upgrades."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from rsad.auth import audit, policies
from rsad.auth.users import User
from rsad.config import Settings, get_settings
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.csvsafe import to_safe_csv
from rsad.data.db import Store, make_engine, upgrade
from rsad.data.ingest import ColumnMap
from rsad.data.labelmap import DEFAULT_ID, DEFAULT_LABEL, DEFAULT_TEXT, describe_map, map_labels
from rsad.data.projects import project_names
from rsad.data.uploads import ingest_report, preview_table, same_file_batch, save_batch, skipped_table
from rsad.errors import InputError, LabelValuesUnknown
from rsad.i18n import _
from rsad.model import versions
from rsad.model.versions import version_info
from rsad.ops.background import BackgroundJob
from rsad.ops.demo import (
    DEMO_TABLES,
    bootstrap,
    demo_project_name,
    ensure_demo_project,
    follow_up,
    follow_up_lines,
    needs_bootstrap,
)
from rsad.ops.precompute import planned_cases, precompute_explanations, start_precompute
from rsad.ops.scoring import score_batch
from rsad.ops.vocab_check import ingest_warning, measure_batch

__all__ = ["DEMO_TABLES", "BackgroundJob", "ColumnMap", "LabelValuesUnknown", "Store", "bootstrap", "delete_batch",
           "demo_store", "describe_map", "guess_columns", "ingest_file", "ingest_report", "label_mapping",
           "follow_up", "follow_up_lines", "needs_bootstrap",
           "open_store", "overview", "planned_cases", "precompute_explanations", "preview_table",
           "same_file_batch", "save_batch", "score_batch", "skipped_csv", "skipped_rows", "start_precompute",
           "upgrade_schema"]


def ingest_file(store: Store, source: Any, **options: Any) -> dict[str, Any]:
    """Read, validate and store one batch file (:func:`rsad.data.uploads.ingest_file`, same options),
    then measure how much of it the scoring model's vocabulary knows: ``vocabulary`` (the measure,
    None when it failed) and ``vocabulary_warning`` (the text to show, None when it reads fine)."""
    info = uploads.ingest_file(store, source, **options)
    info["vocabulary"] = measure_batch(store, info["id"])
    info["vocabulary_warning"] = ingest_warning(info["vocabulary"])
    return info


def skipped_rows(store: Store, ref: str | int) -> pd.DataFrame:
    """The rows of a batch's file that were skipped on upload: row (data row, 1 = the first under the
    header), id (None where the file has no id column), reason."""
    return skipped_table(store, ref)


def skipped_csv(store: Store, ref: str | int) -> bytes:
    """:func:`skipped_rows` as CSV bytes for a download, spreadsheet formulas guarded."""
    return to_safe_csv(skipped_table(store, ref))


def guess_columns(columns: list[str]) -> dict[str, str | None]:
    """{"text", "label", "id"}: the columns rsad would pick in a file with these columns (None: none);
    the label column is guessed by its name only (the values are checked on upload)."""
    from rsad.data.labelmap import ID_NAMES, LABEL_NAMES, TEXT_NAMES, candidates

    def one(default: str, names: tuple[str, ...]) -> str | None:
        if default in columns:
            return default
        found = candidates(columns, names)
        return found[0] if len(found) == 1 else None

    return {"text": one(DEFAULT_TEXT, TEXT_NAMES), "label": one(DEFAULT_LABEL, LABEL_NAMES),
            "id": one(DEFAULT_ID, ID_NAMES)}


def label_mapping(table: pd.DataFrame, column: str, anomaly_values: tuple[str, ...] = ()) -> dict[str, Any]:
    """The label map a column's values give ({"column", "anomaly": [...], "normal": [...]}).

    Raises :class:`LabelValuesUnknown` when no value is known (the user picks the anomaly value),
    :class:`InputError` for a value beyond the chosen one and one other."""
    return map_labels(table[column], column, anomaly_values=anomaly_values, file_name=_("the file"))[2]


def upgrade_schema(settings: Settings | None = None) -> str:
    """Create or upgrade the store's schema to the newest migration; return the revision in force."""
    return upgrade(make_engine((settings or get_settings()).db_url))


def open_store(settings: Settings | None = None, project: str | None = None) -> Store:
    """Open (and migrate) the store named by the settings, working in ``project`` (default:
    RSAD_PROJECT, else 'default')."""
    return Store(settings or get_settings(), project=project)


def overview(store: Store) -> dict[str, Any]:
    """Active model, store totals and per-batch counts at the active threshold."""
    with store.session() as s:
        active = versions.active_model(s, project_id=store.project_id)
        return {
            "active": version_info(active) if active else None,
            "totals": q.totals(s, project_id=store.project_id),
            "batches": q.list_batches(s, active.id if active else None,
                                      active.threshold if active else None, project_id=store.project_id),
        }


def delete_batch(store: Store, ref: str | int, *, user: User, confirm: str | None = None) -> dict[str, Any]:
    """Delete a batch with everything recorded on it (verdicts too); admins only.

    ``confirm``, when given (the page asks the admin to type it), must repeat the batch's name."""

    actor = policies.authorize(user, policies.Action.DELETE_BATCH).name

    with store.session() as s:
        name = q.get_batch(s, ref, project_id=store.project_id).name
        if confirm is not None and confirm.strip() != name:
            raise InputError(_("Type the batch name {name!r} exactly to confirm deleting it.").format(name=name))
        info = q.delete_batch(s, ref, project_id=store.project_id)
        audit.add_event(s, "delete_batch", name, actor=actor, ok=True,
                        detail=f"{info['cases']} cases, {info['verdicts']} verdicts")
    logging.getLogger("rsad.service.batches").warning("%r deleted batch %r (%d cases, %d verdicts)", actor, name,
                                          info["cases"], info["verdicts"])
    return info


def demo_store(store: Store, *, user: User, lang: str = "en", project: str | None = None,
               base_model: str = "") -> Store:
    """The store the demo builds into (see :func:`rsad.ops.demo.demo_project_name`): a project
    that does not exist yet is created on ``base_model``, which needs the right to manage projects."""
    name = demo_project_name(store, lang, project)
    if name in project_names(store):
        actor = user.name
    else:
        actor = policies.authorize(user, policies.Action.MANAGE_PROJECTS).name
    return ensure_demo_project(store, name, base_model=base_model, created_by=actor, lang=lang)
