"""The label-issue audit: which of a project's labels are most likely wrong, sent to a second look.

Every labeled case of the project counts, seed labels and verdict-resolved labels alike
(:func:`rsad.review.labels.current_labels`). Out-of-sample probabilities come from
cross-validated models on TF-IDF and, when the project has an active version, on that
version's mean-pooled embeddings (:mod:`rsad.ops.audit_model` says how, and why no
fine-tuning). cleanlab picks the labels the probabilities contradict; the most doubtful
``min(max_issues, MAX_SHARE of the labeled cases)`` of them are stored as issues
(:mod:`rsad.review.label_issues`), leaving out cases that already had a second look.

Cost: TF-IDF CV is cheap; embedding is what takes time on a CPU, so at most
``audit_model.EMBED_CAP`` cases are embedded per audit (a seeded sample stratified by label;
the rest are judged by TF-IDF alone).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from rsad.data.db import Store
from rsad.errors import InputError
from rsad.i18n import _
from rsad.model import versions
from rsad.ops import audit_model as am
from rsad.ops.background import BackgroundJob
from rsad.progress import ProgressFn, no_progress
from rsad.review import label_issues as li
from rsad.review.labels import current_labels

MAX_ISSUES = 200  # issues stored per audit at most ...
MAX_SHARE = 0.10  # ... and at most this share of the labeled cases: a second look stays a short list


@dataclass(frozen=True)
class AuditRun:
    """What one audit did: its number, the labeled cases it read, the suspects cleanlab found,
    how many were stored (the rest: already second-looked, or over the cap), the features used,
    how many cases were embedded and the seconds it took."""

    run: int
    labeled: int
    suspects: int
    stored: int
    skipped_seen: int
    features: str
    embedded: int
    seconds: float


def reason_line(given: int, source: str, p_anomaly: float) -> str:
    """The stored, English one-line reason (pages show a translated one built from the numbers)."""
    label = "anomaly" if given else "normal"
    origin = "on upload" if source == "seed" else "by verdict"
    return f"labeled {label} {origin}; cross-validated models give {p_anomaly:.2f} anomaly"


def _embeddings(store: Store, folder: str, texts: list[str], labels: object,
                progress: ProgressFn) -> tuple[object, object]:
    from rsad.ops.coverage import embed_texts

    rows = am.embed_sample(len(texts), labels)
    vectors = embed_texts([texts[i] for i in rows], folder, max_length=store.settings.max_length,
                          device=store.settings.device, progress=progress)
    return vectors, rows


def run_audit(store: Store, *, created_by: str, max_issues: int = MAX_ISSUES, use_model: bool = True,
              progress: ProgressFn = no_progress) -> AuditRun:
    """Audit the project's labels and store the most doubtful as issues (see the module's doc).

    ``use_model`` False: TF-IDF alone, even when the project has an active version."""
    import numpy as np

    if max_issues < 1:
        raise InputError(_("The audit sends at least one case: give --max 1 or more (default {n}).").format(
            n=MAX_ISSUES))
    t0 = time.monotonic()
    with store.session() as s:
        labeled = current_labels(s, project_id=store.project_id)
        seen = li.second_looked(s, project_id=store.project_id)
        active = versions.active_model(s, project_id=store.project_id) if use_model else None
        folder, version = (active.folder, active.name) if active else (None, None)
    texts = [r["behavior_description"] for r in labeled]
    y = np.array([int(r["is_anomaly"]) for r in labeled], dtype=int)
    am.check_enough(y)  # before any embedding
    vectors = rows = None
    if folder:
        vectors, rows = _embeddings(store, folder, texts, y, progress)
    progress(0, 1, _("cross-validating"))
    p = am.out_of_sample(texts, y, vectors, rows)
    suspects = am.rank_suspects(y, p)
    cap = min(max_issues, max(1, math.ceil(MAX_SHARE * len(y))))
    fresh = [x for x in suspects if labeled[x.index]["case_pk"] not in seen]
    kept = fresh[:cap]
    features = f"tf-idf + embeddings of {version}" if folder else "tf-idf"
    out = []
    for x in kept:
        r = labeled[x.index]
        out.append({"case_id": r["case_pk"], "given_label": int(y[x.index]), "label_source": r["label_source"],
                    "suggested_label": 1 - int(y[x.index]), "p_anomaly": x.p_anomaly, "quality": x.quality,
                    "reason": reason_line(int(y[x.index]), r["label_source"], x.p_anomaly), "features": features})
    with store.session() as s:
        run = li.next_run(s, project_id=store.project_id)
        li.add_issues(s, out, project_id=store.project_id, run=run, created_by=created_by)
    progress(1, 1, _("done"))
    return AuditRun(run=run, labeled=len(y), suspects=len(suspects), stored=len(out),
                    skipped_seen=len(suspects) - len(fresh), features=features,
                    embedded=0 if rows is None else len(rows), seconds=time.monotonic() - t0)


def start_audit(store: Store, *, created_by: str, max_issues: int = MAX_ISSUES) -> BackgroundJob:
    """:func:`run_audit` in a background thread; watch it with ``snapshot()``."""
    return BackgroundJob(_("label audit of project {project}").format(project=store.project_name),
                         lambda progress: run_audit(store, created_by=created_by, max_issues=max_issues,
                                                    progress=progress)).start()
