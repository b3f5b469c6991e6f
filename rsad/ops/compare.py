"""A candidate against the active version on the same evidence.

Both are scored on the labeled cases neither trained on (:mod:`rsad.evaluation.evalset`): ROC and
PR curves, metrics at each one's own threshold and their deltas, a paired bootstrap that says
whether the difference is more than noise (:mod:`rsad.evaluation.bootstrap`), and the cases where
their scores differ most. On the latest batch: how many cases each would flag, and where they
disagree there. All scores are cached in the store, so a second comparison is quick.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rsad.data import store as q
from rsad.data.db import Store
from rsad.errors import InputError
from rsad.evaluation.bootstrap import paired_bootstrap
from rsad.evaluation.evalset import evaluate
from rsad.i18n import _
from rsad.model import versions
from rsad.model.versions import VersionInfo
from rsad.ops import scoring
from rsad.progress import Phases, ProgressFn, no_progress

METRICS = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "flagged_rate")
PREVIEW_CHARS = 160


def _disagreements(keys: list[str], pks: np.ndarray, cand: np.ndarray, act: np.ndarray,
                   labels: list[str], texts: dict[int, str], top: int) -> pd.DataFrame:
    order = np.argsort(-np.abs(cand - act), kind="stable")[:top]
    return pd.DataFrame([{"case_pk": int(pks[i]), "case": keys[i], "label": labels[i],
                          "candidate": float(cand[i]), "active": float(act[i]),
                          "difference": float(cand[i] - act[i]),
                          "text": texts.get(int(pks[i]), "")[:PREVIEW_CHARS]} for i in order],
                        columns=["case_pk", "case", "label", "candidate", "active", "difference", "text"])


def _evaluation(store: Store, cand: VersionInfo, act: VersionInfo, progress: ProgressFn, top: int) -> dict[str, Any]:
    from rsad.evaluation.metrics import binary_metrics, curves

    ev = evaluate(store, [cand.name, act.name], progress=progress)
    out: dict[str, Any] = {"n": len(ev), "anomalies": int(ev.labels.sum()), "describe": ev.describe()}
    for role, v in (("candidate", cand), ("active", act)):
        scores = ev.scores[v.name]
        out[role] = {"metrics": binary_metrics(ev.labels, scores, v.threshold),
                     "curves": curves(ev.labels, scores)}
    out["table"] = pd.DataFrame([
        {"metric": k, "candidate": out["candidate"]["metrics"][k], "active": out["active"]["metrics"][k],
         "delta": out["candidate"]["metrics"][k] - out["active"]["metrics"][k]} for k in METRICS])
    out["bootstrap"] = paired_bootstrap(ev.labels, ev.scores[cand.name], ev.scores[act.name],
                                        cand.threshold, act.threshold)
    with store.session() as s:
        texts = q.case_texts(s, ev.case_pks.tolist())
    labels = ["anomaly" if y else "normal" for y in ev.labels]
    out["disagreements"] = _disagreements(ev.keys, ev.case_pks, ev.scores[cand.name],
                                          ev.scores[act.name], labels, texts, top)
    return out


def _batch_scores(store: Store, batch_id: int, version_id: int) -> dict[int, float]:
    with store.session() as s:
        return q.batch_score_map(s, batch_id, version_id)


def _latest_batch(store: Store, cand: VersionInfo, act: VersionInfo, progress: ProgressFn,
                  top: int) -> dict[str, Any] | None:
    with store.session() as s:
        ids = q.list_batch_ids(s, limit=1, project_id=store.project_id)
        if not ids:
            return None
        batch = q.get_batch(s, ids[0], project_id=store.project_id)
        name, batch_id = batch.name, batch.id
    for v in (act, cand):
        with store.session() as s:
            missing = q.count_unscored(s, batch_id, v.id)
        if missing:  # scores are kept: a second comparison loads no model
            scoring.score_batch(store, batch_id, model=v.name,
                            progress=lambda d, t, _m, n=v.name: progress(
                                d, t, _("scoring batch {batch} with {name}").format(batch=name, name=n)))
    sc, sa = _batch_scores(store, batch_id, cand.id), _batch_scores(store, batch_id, act.id)
    pks = np.asarray(sorted(set(sc) & set(sa)), dtype=int)
    c = np.asarray([sc[p] for p in pks.tolist()])
    a = np.asarray([sa[p] for p in pks.tolist()])
    fc, fa = c >= cand.threshold, a >= act.threshold
    with store.session() as s:
        ext = q.external_ids(s, batch_id)
        order = np.argsort(-np.abs(c - a), kind="stable")[:top]
        texts = q.case_texts(s, pks[order].tolist())
    return {"batch": name, "batch_id": batch_id, "rows": len(pks),
            "flagged_candidate": int(fc.sum()), "flagged_active": int(fa.sum()),
            "newly_flagged": int((fc & ~fa).sum()), "no_longer_flagged": int((fa & ~fc).sum()),
            "disagreements": _disagreements([str(ext[p]) for p in pks.tolist()], pks, c, a,
                                            [""] * len(pks), texts, top)}


def compare(store: Store, candidate: str, active: str | None = None, *, top: int = 20,
            progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Compare ``candidate`` with ``active`` (default: the active version).

    ``evaluation`` holds the metrics, curves and ``bootstrap`` (a
    :class:`~rsad.evaluation.bootstrap.PairedBootstrap`), or ``evaluation_error`` says why there is
    no evaluation set yet; ``latest_batch`` is None when the store has no batch.
    """
    cand, act = versions.get_version(store, candidate), versions.get_version(store, active)
    if cand.name == act.name:
        raise InputError(_("{name} is the version to compare against: pick another candidate.").format(name=cand.name))
    phases = Phases({"evaluation": 1, "batch": 2}, progress)
    out: dict[str, Any] = {"candidate": cand, "active": act, "evaluation": None, "evaluation_error": None}
    try:
        out["evaluation"] = _evaluation(store, cand, act, phases.phase("evaluation", _("Evaluation set")), top)
    except InputError as exc:  # too few held-out labels: the batch comparison still helps
        out["evaluation_error"] = str(exc)
    out["latest_batch"] = _latest_batch(store, cand, act, phases.phase("batch", _("Latest batch")), top)
    progress(Phases.SCALE, Phases.SCALE, _("compared"))
    return out
