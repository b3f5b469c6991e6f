"""The label rule: what a case's seed label and analyst verdicts make its current label.

Functions take the session first and never commit, like :mod:`rsad.data.store` (which re-exports
them). The same rule feeds training (:mod:`rsad.review.trainset`), evaluation and the label export.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rsad.data.orm import DEFAULT_PROJECT_ID, Batch, Case, Verdict

ABSTAIN_REASON = "insufficient evidence"


def resolve_votes(votes: Sequence[tuple[int, str, str, str]]) -> tuple[int | None, str, str]:
    """The label a case's verdicts give: (1/0 or None, rule used, deciding analyst).

    ``votes`` are each analyst's latest verdict on the case: (verdict id, analyst, label,
    reason). 'unsure' and the 'insufficient evidence' reason abstain. With one opinion
    left it wins ("latest"); analysts who disagree are settled by majority, and a tie by
    the newest of the tied verdicts ("majority" / "tie: latest").
    """
    decisive = [(vid, label, analyst) for vid, analyst, label, reason in votes
                if label in ("anomaly", "normal") and reason != ABSTAIN_REASON]
    if not decisive:
        return None, "abstained" if votes else "none", ""
    counts: dict[str, int] = {}
    for _vid, label, _a in decisive:
        counts[label] = counts.get(label, 0) + 1
    top = max(counts.values())
    leaders = {label for label, n in counts.items() if n == top}
    _vid, label, analyst = max(v for v in decisive if v[1] in leaders)
    rule = "latest" if len(counts) == 1 else ("majority" if len(leaders) == 1 else "tie: latest")
    return int(label == "anomaly"), rule, analyst


def label_evidence(session: Session, *, project_id: int = DEFAULT_PROJECT_ID) -> list[dict[str, Any]]:
    """Every case with a seed label or a verdict: its seed, each analyst's latest verdict,
    and the label they resolve to (``label`` None: left out of training), in one project.

    The latest verdict of each analyst counts (an analyst's newer verdict supersedes their
    own older one); see :func:`resolve_votes` for how analysts are combined. A case whose
    analysts all abstained keeps its seed label.
    """
    newest = (select(func.max(Verdict.id).label("id"))
              .group_by(Verdict.case_id, Verdict.analyst).subquery())
    votes: dict[int, list[tuple[int, str, str, str]]] = {}
    for vid, cid, analyst, label, reason in session.execute(
        select(Verdict.id, Verdict.case_id, Verdict.analyst, Verdict.label, Verdict.reason_code)
        .join(newest, newest.c.id == Verdict.id).order_by(Verdict.id)
    ):
        votes.setdefault(cid, []).append((vid, analyst, label, reason or ""))
    reviewed = select(Verdict.case_id)
    rows = session.execute(
        select(Case.id, Case.external_id, Case.text, Case.meta, Case.given_label, Batch.name)
        .join(Batch, Batch.id == Case.batch_id)
        .where(Batch.project_id == project_id, Case.given_label.is_not(None) | Case.id.in_(reviewed))
        .order_by(Case.id)
    )
    out = []
    for cid, ext, text, meta, given, batch in rows:
        case_votes = votes.get(cid, [])
        label, rule, decider = resolve_votes(case_votes)
        source = "verdict"
        if label is None:
            label, source = given, "seed"
        out.append({"case_pk": cid, "case_id": ext, "behavior_description": text,
                    "is_anomaly": None if label is None else int(label), "label_source": source,
                    "batch": batch, "analyst": decider, "meta": meta, "seed": given,
                    "votes": case_votes, "rule": rule})
    return out


def current_labels(session: Session, *, project_id: int = DEFAULT_PROJECT_ID) -> list[dict[str, Any]]:
    """Each labeled case once: the label its verdicts give (see :func:`label_evidence`),
    else the label it came with."""
    keys = ("case_pk", "case_id", "behavior_description", "is_anomaly", "label_source", "batch",
            "analyst", "meta")
    return [{k: r[k] for k in keys} for r in label_evidence(session, project_id=project_id)
            if r["is_anomaly"] is not None]
