"""Verdict rows: recording one, the latest per case, a case's history. Session first, never commits."""

from __future__ import annotations

from sqlalchemy import Subquery, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rsad.config import VERDICT_LABELS, accepted_reasons
from rsad.data.db import Store
from rsad.data.orm import Batch, Case, Verdict, VerdictSubmission
from rsad.errors import InputError, NotFoundError, StateError
from rsad.i18n import _, ngettext
from rsad.model import versions
from rsad.review import case_state, claims


def add_verdict(session: Session, case_id: int, label: str, *, analyst: str, reason_code: str = "",
                note: str = "", model_version_id: int | None = None,
                threshold: float | None = None, ring_id: int | None = None) -> Verdict:
    """Append a verdict; the newest verdict on a case is its current label. ``ring_id``: the ring
    it was recorded on (one verdict for a whole ring, rsad.service.rings)."""
    if label not in VERDICT_LABELS:
        raise InputError(_("Verdict must be one of {VERDICT_LABELS}, not {label!r}.").format(
                             VERDICT_LABELS=', '.join(VERDICT_LABELS), label=label))
    if not analyst.strip():
        raise InputError(_("Say who you are (analyst name) before recording a verdict."))
    if len(analyst.strip()) > 200 or len(reason_code) > 100:
        raise InputError(_("Analyst names are at most 200 characters and reason codes at most 100."))
    if session.get(Case, case_id) is None:
        raise NotFoundError(_("No case with id {case_id}.").format(case_id=case_id))
    verdict = Verdict(case_id=case_id, label=label, analyst=analyst.strip(), reason_code=reason_code,
                      note=note, model_version_id=model_version_id, threshold=threshold, ring_id=ring_id)
    session.add(verdict)
    session.flush()
    return verdict


def latest_verdicts_subquery() -> Subquery:
    """One row per case: its newest verdict (the highest id wins: ids grow with time)."""
    newest = select(func.max(Verdict.id).label("id")).group_by(Verdict.case_id).subquery()
    return select(Verdict).join(newest, newest.c.id == Verdict.id).subquery()


def record_verdicts(store: Store, case_ids: list[int], label: str, *, analyst: str,
                    reason_code: str = "", note: str = "", submission: str | None = None,
                    ring_id: int | None = None) -> int:
    """Append one verdict per case (one transaction), with the model and threshold in force.

    Refused for cases another analyst has open (a live claim); releases ``analyst``'s claims on them.
    ``submission``: a key the form drew once; a second call with it records nothing and returns 0
    (a double click, a resent form). A reason is only what the analyst chose: labels listed in
    RSAD_REQUIRE_REASON_FOR are refused without one. An anomaly or normal verdict closes each open
    or in-review case (rsad.review.case_state.on_verdict). ``ring_id``: each verdict names that ring."""
    if not case_ids:
        raise InputError(_("Select at least one case."))
    if reason_code and reason_code not in accepted_reasons(store.reason_codes):
        raise InputError(_("Unknown reason code {reason_code!r}: choose one of {reason_codes}.").format(
                             reason_code=reason_code, reason_codes=', '.join(store.reason_codes)))
    if not reason_code and label in store.settings.require_reason_for:
        raise InputError(_("An {label} verdict needs a reason on this desk: choose one in the Reason box, then "
                           "record it again.").format(label=label))
    try:
        with store.session() as s:
            if submission is not None:
                if s.get(VerdictSubmission, submission) is not None:
                    return 0
                # Written first: it takes SQLite's write lock, and a concurrent second press
                # of the same form fails on the primary key instead of writing twice.
                s.add(VerdictSubmission(key=submission, analyst=analyst.strip(), cases=len(case_ids)))
                s.flush()
            elsewhere = s.scalars(select(Case.external_id).join(Batch, Batch.id == Case.batch_id).where(
                Case.id.in_([int(c) for c in case_ids]), Batch.project_id != store.project_id).limit(3)).all()
            if elsewhere:  # a stale form or link: the reason codes and model in force are another project's
                raise NotFoundError(_("Case {elsewhere} is not in project {project_name!r}: switch to its "
                                      "project in the sidebar, then record the verdict there.").format(
                                        elsewhere=elsewhere[0], project_name=store.project_name))
            claims.release(s, case_ids, analyst.strip())
            held = claims.held_by_others(s, case_ids, analyst.strip())
            if held:
                cid, (who, until) = next(iter(held.items()))
                ext = s.get(Case, cid).external_id
                more = ngettext(" (and {n} more selected case is taken)", " (and {n} more selected cases are taken)",
                                len(held) - 1).format(n=len(held) - 1) if len(held) > 1 else ""
                raise StateError(_("Case {case} is open with {who} until {until:%H:%M} UTC{more}: pick other cases, "
                                   "or wait for their verdict.").format(case=ext, who=who, until=until, more=more))
            active = versions.active_model(s, project_id=store.project_id)
            for cid in case_ids:
                add_verdict(s, int(cid), label, analyst=analyst, reason_code=reason_code, note=note.strip(),
                              model_version_id=active.id if active else None,
                              threshold=active.threshold if active else None, ring_id=ring_id)
            case_state.on_verdict(s, case_ids, label, analyst.strip())  # anomaly/normal close the case
    except IntegrityError:
        if submission is not None and _submitted(store, submission):
            return 0  # the other press of this form won the race
        raise
    return len(case_ids)


def _submitted(store: Store, key: str) -> bool:
    with store.session() as s:
        return s.get(VerdictSubmission, key) is not None


def latest_verdict_id(session: Session) -> int | None:
    """The newest verdict's id: changes with every verdict recorded anywhere."""
    return session.scalar(select(func.max(Verdict.id)))
