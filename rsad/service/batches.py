"""Batches for the pages and the CLI: open the store, upload (read, validate, save), score,
compute attributions ahead, the overview, delete (admins), the demo bootstrap, schema upgrades."""

from __future__ import annotations

import logging
from typing import Any

from rsad.auth import audit, policies
from rsad.auth.users import User
from rsad.config import Settings, get_settings
from rsad.data import store as q
from rsad.data.db import Store, make_engine, upgrade
from rsad.data.ingest import ColumnMap
from rsad.data.uploads import ingest_file, preview_table, same_file_batch, save_batch
from rsad.errors import InputError
from rsad.model import versions
from rsad.model.versions import version_info
from rsad.ops.background import BackgroundJob
from rsad.ops.demo import bootstrap, needs_bootstrap
from rsad.ops.precompute import planned_cases, precompute_explanations, start_precompute
from rsad.ops.scoring import score_batch

__all__ = ["BackgroundJob", "ColumnMap", "Store", "bootstrap", "delete_batch", "ingest_file", "needs_bootstrap",
           "open_store", "overview", "planned_cases", "precompute_explanations", "preview_table",
           "same_file_batch", "save_batch", "score_batch", "start_precompute", "upgrade_schema"]


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
            raise InputError(f"Type the batch name {name!r} exactly to confirm deleting it.")
        info = q.delete_batch(s, ref, project_id=store.project_id)
        audit.add_event(s, "delete_batch", name, actor=actor, ok=True,
                        detail=f"{info['cases']} cases, {info['verdicts']} verdicts")
    logging.getLogger("rsad.service.batches").warning("%r deleted batch %r (%d cases, %d verdicts)", actor, name,
                                          info["cases"], info["verdicts"])
    return info
