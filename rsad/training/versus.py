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
