"""Model versions in the store: rows, events, the active one, and the typed record pages and CLI get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rsad.config import Settings, get_settings, pause_point
from rsad.data.db import Store
from rsad.data.orm import DEFAULT_PROJECT_ID, ModelEvent, ModelVersion
from rsad.errors import ModelError, NotFoundError, StateError
from rsad.i18n import _
from rsad.model.card import CARD_FILE

if TYPE_CHECKING:  # torch loads only when a classifier does
    from rsad.model.classifier import Classifier


def add_model_version(session: Session, *, project_id: int = DEFAULT_PROJECT_ID, **fields: Any) -> ModelVersion:
    """Register a saved version; a project's first one becomes active, later ones are candidates."""
    has_active = active_model(session, project_id=project_id) is not None
    version = ModelVersion(**fields, project_id=project_id, status="candidate" if has_active else "active")
    session.add(version)
    session.flush()
    return version


def active_model(session: Session, *, project_id: int = DEFAULT_PROJECT_ID) -> ModelVersion | None:
    return session.scalar(select(ModelVersion).where(ModelVersion.project_id == project_id,
                                                     ModelVersion.status == "active"))


def require_active(session: Session, *, project_id: int = DEFAULT_PROJECT_ID) -> ModelVersion:
    version = active_model(session, project_id=project_id)
    if version is None:
        raise StateError(_("This project has no active model yet: train one (Upload a labeled file and "
                         "\"Train the first model\", or `rsad train --data FILE`; `rsad demo` for the demo)."))
    return version


def get_model_version(session: Session, name: str | None, *, project_id: int = DEFAULT_PROJECT_ID) -> ModelVersion:
    """A version of the project by name; None means its active one."""
    if name is None:
        return require_active(session, project_id=project_id)
    version = session.scalar(select(ModelVersion).where(ModelVersion.project_id == project_id,
                                                        ModelVersion.name == name))
    if version is None:
        names = session.scalars(select(ModelVersion.name).where(ModelVersion.project_id == project_id)
                                .order_by(ModelVersion.id)).all()
        raise NotFoundError(_("No model version {name!r} in this project. Known versions: {names}.").format(
            name=name, names=", ".join(names) or _("none")))
    return version


def list_model_versions(session: Session, *, project_id: int = DEFAULT_PROJECT_ID) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).where(ModelVersion.project_id == project_id)
                                .order_by(ModelVersion.id.desc())))


def add_model_event(session: Session, version: ModelVersion, action: str, *, actor: str,
                    reason: str = "", previous_active_id: int | None = None) -> ModelEvent:
    """Record a registration, promotion or rollback in the registry history."""
    event = ModelEvent(model_version_id=version.id, action=action, actor=actor, reason=reason,
                       previous_active_id=previous_active_id)
    session.add(event)
    session.flush()
    return event


def promote(session: Session, name: str, *, project_id: int = DEFAULT_PROJECT_ID) -> ModelVersion:
    """Make ``name`` the project's one active version; the previous one is retired, not deleted."""
    version = get_model_version(session, name, project_id=project_id)
    if version.status == "active":
        return version
    session.execute(update(ModelVersion).where(ModelVersion.project_id == project_id,
                                               ModelVersion.status == "active").values(status="retired"))
    pause_point("promote:old-retired")
    version.status = "active"
    session.flush()
    return version


def merge_metrics(session: Session, version_id: int, extra: dict[str, Any]) -> None:
    """Add keys to a version's metrics (e.g. a reference profile computed after registration)."""
    version = session.get(ModelVersion, version_id)
    if version is not None:
        version.metrics = {**(version.metrics or {}), **extra}  # a new dict: the JSON column sees the change
        session.flush()


def events(session: Session, limit: int = 200, *, project_id: int = DEFAULT_PROJECT_ID) -> list[dict[str, Any]]:
    """Registry events, newest first: what happened to which version, who did it and why."""
    prev = ModelVersion.__table__.alias("prev")
    query = (select(ModelEvent.created_at, ModelEvent.action, ModelVersion.name, prev.c.name,
                    ModelEvent.actor, ModelEvent.reason)
             .join(ModelVersion, ModelVersion.id == ModelEvent.model_version_id)
             .outerjoin(prev, prev.c.id == ModelEvent.previous_active_id)
             .where(ModelVersion.project_id == project_id).order_by(ModelEvent.id.desc()).limit(limit))
    return [{"when": when, "action": action, "version": v, "previous_active": p, "by": actor,
             "reason": reason} for when, action, v, p, actor, reason in session.execute(query)]


@dataclass(frozen=True)
class VersionInfo:
    """A registered model version as the pages, the CLI and the jobs see it (no session attached)."""

    id: int
    name: str
    status: str  # candidate, active or retired
    threshold: float
    folder: str
    base_model: str
    metrics: dict[str, Any]
    train_config: dict[str, Any]
    data_hash: str
    created_by: str
    created_at: datetime
    temperature: float | None


def version_info(v: ModelVersion) -> VersionInfo:
    return VersionInfo(id=v.id, name=v.name, status=v.status, threshold=v.threshold, folder=v.folder,
                       base_model=v.base_model, metrics=dict(v.metrics or {}),
                       train_config=dict(v.train_config or {}), data_hash=v.data_hash,
                       created_by=v.created_by, created_at=v.created_at, temperature=v.temperature)


def active_version(store: Store) -> VersionInfo | None:
    with store.session() as s:
        v = active_model(s, project_id=store.project_id)
        return version_info(v) if v else None


def get_version(store: Store, name: str | None = None) -> VersionInfo:
    with store.session() as s:
        return version_info(get_model_version(s, name, project_id=store.project_id))


def list_versions(store: Store) -> list[VersionInfo]:
    with store.session() as s:
        return [version_info(v) for v in list_model_versions(s, project_id=store.project_id)]


def load_classifier(store: Store, version: VersionInfo) -> Classifier:
    """Load a registered version for scoring with the store's device and length settings."""
    return load_with_settings(store.settings, version)


def load_with_settings(settings: Settings, version: VersionInfo) -> Classifier:
    """:func:`load_classifier` from the settings alone: what a process without the store (a Ray
    actor, rsad.ops.ray_scoring) has."""
    from rsad.model.classifier import Classifier

    # Only registered version folders are loaded: the folder comes from the store, never from input.
    if not (Path(version.folder) / CARD_FILE).is_file():
        raise ModelError(_("Version {name}'s folder {folder} is missing or is not an rsad model version (no "
                           "{CARD_FILE}): restore it, or promote another version.").format(
                             name=version.name, folder=version.folder, CARD_FILE=CARD_FILE))
    max_length = int(version.train_config.get("max_length", settings.max_length))
    return Classifier.load(version.folder, device=settings.device,
                           max_length=max_length, name=version.name,
                           precision=settings.score_precision,
                           # versions saved before truncation was a setting read the head
                           truncation=version.train_config.get("truncation", "head"))


def device_label(settings: Settings | None = None) -> str:
    """The device scoring and training use, in words (e.g. 'cuda (NVIDIA H100)')."""
    from rsad.model.classifier import pick_device

    dev = pick_device((settings or get_settings()).device)
    if dev.type == "cuda":
        import torch

        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return dev.type


def trained_on(metrics: dict[str, Any]) -> tuple[str, str]:
    """('2,000 cases', '+500 validation'): what a version fitted its weights on, and the held-out
    cases that chose its threshold and gave its metrics. The Overview and `rsad models` both say
    it this way, so neither reads as a different count from the other."""
    return (_("{n:,} cases").format(n=metrics.get("n_train", 0)),
            _("+{n:,} validation").format(n=metrics.get("n_val", 0)))

