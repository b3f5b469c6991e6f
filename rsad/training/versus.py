"""A new version against the one that was active when its training started, kept with the version.

A retraining job ends with the question an admin asks next: is the candidate better? It is
answered on the labeled cases neither version trained on (:mod:`rsad.evaluation.evalset`) with
a paired bootstrap (:mod:`rsad.evaluation.bootstrap`), and stored in the version's metrics as
``vs_active`` so the versions table can say it long after the job's log has scrolled away. A
comparison that cannot be made is logged with its reason and never fails the job: the version
itself is sound. Too few held-out cases or a missing folder are also kept (``skipped``), so the
table says "not compared"; a project's first version has nothing to be compared with and keeps
nothing.
"""

from __future__ import annotations

from typing import Any

from rsad.data.db import Store
from rsad.errors import RsadError
from rsad.evaluation.bootstrap import paired_bootstrap, verdict_line
from rsad.evaluation.evalset import evaluate
from rsad.i18n import _
from rsad.model import versions
from rsad.model.versions import VersionInfo
from rsad.progress import ProgressFn, no_progress

KEY = "vs_active"


def _keep(store: Store, version: VersionInfo, record: dict[str, Any]) -> None:
    with store.session() as s:
        versions.merge_metrics(s, version.id, {KEY: record})


def compare_with_active(store: Store, version: VersionInfo, active: VersionInfo | None, *,
                        progress: ProgressFn = no_progress) -> str:
    """Compare ``version`` with ``active`` (the version active when the job started), keep the
    result in ``version``'s metrics, and return the line for the job's log."""
    if active is None or active.name == version.name:  # a project's first version: nothing to keep
        reason = _("there was no active version when the job started")
        return _("Not compared with an active version: {reason}.").format(reason=reason)
    try:
        ev = evaluate(store, [version.name, active.name], progress=progress)
        result = paired_bootstrap(ev.labels, ev.scores[version.name], ev.scores[active.name],
                                  version.threshold, active.threshold)
    except RsadError as exc:  # too few held-out cases, a version folder gone: the version stands
        _keep(store, version, {"against": active.name, "skipped": str(exc)})
        return _("Not compared with {name}: {reason}").format(name=active.name, reason=exc)
    _keep(store, version, result.record(active.name))
    return verdict_line(result, version.name, active.name)


NOT_PROMOTED = "not-promoted"  # the model-history action of a candidate a job declined to promote


def promote_if_better(store: Store, version: VersionInfo, *, actor: str) -> str:
    """Make ``version`` active when its stored comparison (:func:`compare_with_active`) says it is
    better than the version active then, and that version is still active; otherwise keep it a
    candidate. Either way the model history records the decision with its reason (the verdict)."""
    with store.session() as s:
        row = versions.get_model_version(s, version.name, project_id=store.project_id)
        record = (row.metrics or {}).get(KEY) or {}
        active = versions.active_model(s, project_id=store.project_id)
        against = record.get("against")
        if "verdict" not in record:
            reason = _("not compared: {why}").format(why=record.get("skipped") or _("no active version"))
        else:
            reason = verdict_line(record, version.name, against)
        if record.get("verdict") == "better" and active is not None and active.name == against:
            versions.promote(s, version.name, project_id=store.project_id)
            versions.add_model_event(s, row, "promote", actor=actor, previous_active_id=active.id,
                                     reason=_("promoted by the job, better on held-out cases: {reason}").format(
                                         reason=reason))
            return _("Promoted {name}: {reason}").format(name=version.name, reason=reason)
        if active is not None and active.name != against:
            reason = _("the active version changed to {name} meanwhile").format(name=active.name)
        versions.add_model_event(s, row, NOT_PROMOTED, actor=actor,
                                 reason=_("kept as a candidate: {reason}").format(reason=reason))
        return _("Not promoted {name}: {reason}").format(name=version.name, reason=reason)
