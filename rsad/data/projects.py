"""Projects in the store: create, list with their counts, look one up. Store-level functions
(each opens its own transaction); who may create one is the service layer's business."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from rsad.data.db import Store
from rsad.data.orm import Batch, Case, ModelVersion, Project
from rsad.errors import InputError, NotFoundError
from rsad.i18n import _

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")  # also a folder name under models/projects/
START_PER_CLASS = 20  # "label to start": train once this many of each class are labeled (per project)
MIN_PER_CLASS = 2  # fewer cannot give the first model a validation case of each class


@dataclass(frozen=True)
class ProjectInfo:
    """A project as the pages and the CLI list it."""

    id: int
    name: str
    description: str
    base_model: str  # '' : the desk's default base model
    reason_codes: tuple[str, ...]  # (): the desk's default reason codes
    start_per_class: int
    created_by: str
    created_at: datetime
    batches: int = 0
    cases: int = 0
    versions: int = 0
    active_version: str | None = None


def _info(p: Project, counts: dict[str, Any] | None = None) -> ProjectInfo:
    return ProjectInfo(p.id, p.name, p.description, p.base_model, tuple(p.reason_codes or ()),
                       int((p.settings or {}).get("start_per_class", START_PER_CLASS)), p.created_by,
                       p.created_at, **(counts or {}))


def add_project(store: Store, name: str, *, created_by: str, base_model: str = "", description: str = "",
                reason_codes: tuple[str, ...] = (), start_per_class: int = START_PER_CLASS) -> ProjectInfo:
    """Create a project. ``base_model``: an HF folder its first model fine-tunes (empty: the default)."""
    name = name.strip()
    if not NAME.match(name):
        raise InputError(_("Project name {name!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a "
                           "letter or digit (it names a folder too).").format(name=name))
    if base_model and not (Path(base_model) / "config.json").is_file():
        raise InputError(_("Base model {base_model!r} is not a Hugging Face model folder "
                           "(no config.json there).").format(base_model=base_model))
    if not MIN_PER_CLASS <= start_per_class <= 10_000:
        raise InputError(_("Labels of each class to start with must be between {MIN_PER_CLASS} and 10,000.").format(
                             MIN_PER_CLASS=MIN_PER_CLASS))
    codes = [c.strip() for c in reason_codes if c.strip()]
    try:
        with store.session() as s:
            row = Project(name=name, description=description.strip(), base_model=base_model.strip(),
                          reason_codes=codes, settings={"start_per_class": start_per_class},
                          created_by=created_by)
            s.add(row)
            s.flush()
            return _info(row)
    except IntegrityError:
        raise InputError(_("A project named {name!r} already exists.").format(name=name)) from None


def list_projects(store: Store) -> list[ProjectInfo]:
    """Every project, oldest first, with its batch, case and version counts and active version."""
    with store.session() as s:
        batches = dict(s.execute(select(Batch.project_id, func.count()).group_by(Batch.project_id)).all())
        cases = dict(s.execute(select(Batch.project_id, func.count(Case.id)).join(Case, Case.batch_id == Batch.id)
                               .group_by(Batch.project_id)).all())
        versions = dict(s.execute(select(ModelVersion.project_id, func.count())
                                  .group_by(ModelVersion.project_id)).all())
        active = dict(s.execute(select(ModelVersion.project_id, ModelVersion.name)
                                .where(ModelVersion.status == "active")).all())
        return [_info(p, {"batches": batches.get(p.id, 0), "cases": cases.get(p.id, 0),
                          "versions": versions.get(p.id, 0), "active_version": active.get(p.id)})
                for p in s.scalars(select(Project).order_by(Project.id))]


def project_names(store: Store) -> list[str]:
    """Every project's name, oldest first: one small query (the sidebar asks on every page run;
    :func:`list_projects` counts every case)."""
    with store.session() as s:
        return list(s.scalars(select(Project.name).order_by(Project.id)))


def get_project(store: Store, name: str) -> ProjectInfo:
    for p in list_projects(store):
        if p.name == name:
            return p
    raise NotFoundError(_("No project named {name!r}: see `rsad projects list`.").format(name=name))
