"""Promote and roll back model versions (each a recorded event), and rescore with the new one.

A switch is one transaction: the version becomes active, the previous active one is
retired (never deleted) and a ``ModelEvent`` says who, when and why. Rescoring is separate
and resumable: it scores the cases the active version has no score for yet, unreviewed
cases first, committing every chunk.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import case, exists, func, select

from rsad.service import api
from rsad.auth import policies
from rsad.data import store as q
from rsad.auth.users import User
from rsad.data.db import Store
from rsad.errors import InputError, StateError
from rsad.data.orm import Case, ModelEvent, ModelVersion, Score, Verdict
from rsad.progress import ProgressFn, no_progress

ACTIONS = {"promote": "candidate", "rollback": "retired"}  # action -> status it applies to


def _switch(store: Store, name: str, action: str, *, actor: str, reason: str) -> dict[str, Any]:
    """The switch itself; callers have authorized ``actor`` (a user's name) for ``action``."""
    with store.session() as s:
        version = q.get_model_version(s, name)
        if version.status == "active":
            raise StateError(f"{name} is already the active version.")
        if version.status != ACTIONS[action]:
            hint = (f"it is retired: restore it with rollback (`rsad rollback {name}`)" if action == "promote"
                    else f"it is a candidate that was never active: promote it (`rsad promote {name}`)")
            raise StateError(f"Cannot {action} {name}: {hint}.")
        if not actor.strip():
            raise InputError(f"Say who you are (analyst name) before you {action} a version.")
        if not reason.strip():
            raise InputError(f"Give a reason for the {action}: it is kept in the model history.")
        previous = q.active_model(s)
        q.promote(s, name)
        q.add_model_event(s, version, action, actor=actor.strip(), reason=reason.strip(),
                          previous_active_id=previous.id if previous else None)
        info = api.version_info(version)
    info["previous"] = previous.name if previous else None
    return info


def promote(store: Store, name: str, *, user: User, reason: str) -> dict[str, Any]:
    """Make a candidate the active version (admins only); the old active one is retired."""
    actor = policies.authorize(user, policies.Action.PROMOTE).name
    return _switch(store, name, "promote", actor=actor, reason=reason)


def rollback(store: Store, name: str, *, user: User, reason: str) -> dict[str, Any]:
    """Make a retired version active again (admins only); the current active one is retired."""
    actor = policies.authorize(user, policies.Action.ROLLBACK).name
    return _switch(store, name, "rollback", actor=actor, reason=reason)


def history(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """Registry events, newest first: what happened to which version, who did it and why."""
    prev = ModelVersion.__table__.alias("prev")
    query = (select(ModelEvent.created_at, ModelEvent.action, ModelVersion.name, prev.c.name,
                    ModelEvent.actor, ModelEvent.reason)
             .join(ModelVersion, ModelVersion.id == ModelEvent.model_version_id)
             .outerjoin(prev, prev.c.id == ModelEvent.previous_active_id)
             .order_by(ModelEvent.id.desc()).limit(limit))
    with store.session() as s:
        return [{"when": when, "action": action, "version": v, "previous_active": p, "by": actor,
                 "reason": reason} for when, action, v, p, actor, reason in s.execute(query)]


def _unscored(model_id: int):  # noqa: ANN202
    scored = select(Score.case_id).where(Score.model_version_id == model_id)
    return Case.id.not_in(scored)


def _reviewed():  # noqa: ANN202
    return exists().where(Verdict.case_id == Case.id)


def rescore_status(store: Store) -> dict[str, Any] | None:
    """Cases the active version has not scored yet, unreviewed and reviewed (None: no active model)."""
    with store.session() as s:
        active = q.active_model(s)
        if active is None:
            return None
        total, reviewed = s.execute(select(func.count(Case.id), func.sum(case((_reviewed(), 1), else_=0)))
                                    .where(_unscored(active.id))).one()
    reviewed = int(reviewed or 0)
    return {"model": active.name, "unreviewed": int(total) - reviewed, "reviewed": reviewed}


def rescore(store: Store, *, user: User, progress: ProgressFn = no_progress, classifier: Any = None,
            chunk: int = api.SCORE_CHUNK) -> dict[str, Any]:
    """Score every case the active version has no score for, unreviewed ones first (admins only:
    it changes the scores every analyst's queue is ordered by).

    Each chunk is committed on its own: stopping half-way keeps what was done, and running
    again continues from there.
    """
    policies.authorize(user, policies.Action.RESCORE)
    status = rescore_status(store)
    if status is None:
        raise StateError("There is no active model to rescore with.")
    version = api.get_version(store, status["model"])
    total = status["unreviewed"] + status["reviewed"]
    started, done = time.monotonic(), 0
    progress(0, total, f"rescoring with {version['name']}")
    if total:
        clf = classifier or api.load_classifier(store, version)
        while True:
            with store.session() as s:
                rows = s.execute(select(Case.id, Case.text).where(_unscored(version["id"]))
                                 .order_by(case((_reviewed(), 1), else_=0), Case.id).limit(chunk)).all()
            if not rows:
                break
            base = done
            scores = clf.score([t for _, t in rows], batch_size=store.settings.score_batch_size,
                               progress=lambda d, _t, _m: progress(base + d, total, f"rescoring with {version['name']}"))
            with store.session() as s:
                q.put_scores(s, version["id"], [c for c, _ in rows], scores)
            done += len(rows)
    progress(total, total, "rescored")
    return {"model": version["name"], "scored": done, "unreviewed": status["unreviewed"],
            "reviewed": status["reviewed"], "seconds": time.monotonic() - started}
