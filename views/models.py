"""Models: the training set, retraining, the versions and their history, compare, promote, roll back.

Anyone signed in may look and compare; retraining, stopping a job, promoting, rolling back and
rescoring need the admin role (rsad.auth.policies): an analyst sees them disabled with the reason.
"""

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
from rsad.service import jobs as retrain
from rsad.service import models
from views import compare_panel, model_actions
from views.common import get_store, show_error
from views.jobs_panel import job_panel


def training_set_summary(ts: models.TrainingSet) -> None:
    """What the next retraining would learn from: counts by source and class, and conflicts."""
    counts = ts.counts().set_index("source")
    c = st.columns(5)
    c[0].metric(_("Cases"), f"{len(ts):,}")
    c[1].metric(_("Anomalies"), f"{counts.loc['all', 'anomaly']:,}")
    c[2].metric(_("From verdicts"), f"{counts.loc['verdict', 'total']:,}",
                help=_("{n:,} of them overturn the label the case was uploaded with").format(n=ts.overturned))
    c[3].metric(_("Conflicts settled"), f"{len(ts.conflicts):,}", help=_("Analysts whose latest verdicts disagree"))
    c[4].metric(_("Left out"), f"{ts.abstained_dropped:,}", help=_("Only 'unsure' or 'insufficient evidence' verdicts"))
    # The source column holds codes (seed, verdict, all): shown as words, the data left as it is.
    sources = {"seed": _("seed labels"), "verdict": _("analyst verdicts"), "all": _("all")}
    shown = counts.reset_index().assign(source=lambda t: t["source"].map(lambda v: sources.get(v, v)))
    st.dataframe(shown, key="ts_counts", hide_index=True, column_config={
        "source": _("source"), "normal": _("normal"), "anomaly": _("anomaly"), "total": _("total")})
    st.caption(_("Seed labels plus analyst verdicts: each analyst's latest verdict counts; 'unsure' and "
                 "'insufficient evidence' give no label (a seed label then stands); disagreeing analysts are "
                 "settled by majority, a tie by the latest verdict. Set hash `{hash}`; the exact rows "
                 "are saved with every version trained on it.").format(hash=ts.hash[:16]))
    if len(ts.conflicts):
        with st.expander(_("Conflicts between analysts ({n:,})").format(n=len(ts.conflicts))):
            st.dataframe(ts.conflicts.drop(columns=["case_pk"]), key="ts_conflicts", hide_index=True, column_config={
                "case_id": _("case"), "batch": _("batch"), "votes": _("votes"), "label": _("label"),
                "rule": _("rule")})


def versions_and_history(versions: list[models.VersionInfo], events: list[dict]) -> None:
    """Every version with its own validation numbers, then the registry's history."""
    rows = []
    for v in versions:
        m = v.metrics
        rows.append({"name": v.name, "status": status_word(v.status), "threshold": v.threshold, "F1": m.get("f1"),
                     "ROC-AUC": m.get("roc_auc"), "PR-AUC": m.get("pr_auc"),
                     "trained on": m.get("n_train", 0), "validation": m.get("n_val", 0),
                     "from verdicts": m.get("n_verdict", 0),
                     # the bag of words blended in (docs/decisions/0021-lexical-blend.md)
                     "+ words": bool((m.get("blend") or {}).get("kept")),
                     "vs active": vs_active(m.get("vs_active")),
                     "created": v.created_at, "by": v.created_by, "data hash": v.data_hash[:12]})
    num = st.column_config.NumberColumn
    st.dataframe(pd.DataFrame(rows), key="versions_table", hide_index=True, column_config={
        "name": _("name"), "status": _("status"), "threshold": num(_("threshold"), format="%.3f"),
        "F1": num(format="%.3f"), "ROC-AUC": num(format="%.3f"), "PR-AUC": num(format="%.3f"),
        "trained on": _("trained on"), "validation": _("validation"), "from verdicts": _("from verdicts"),
        "+ words": st.column_config.CheckboxColumn(_("+ words"), help=_(
            "The version blends a bag of words (TF-IDF + logistic regression) into the transformer, "
            "kept because it predicted held-out validation cases better.")),
        "vs active": st.column_config.TextColumn(_("vs active"), help=_(
            "Checked when the version was trained: its PR-AUC against the version active then, on the same "
            "held-out labeled cases, with a 95% paired bootstrap interval (the job's log says more).")),
        "created": st.column_config.DatetimeColumn(_("created"), format="YYYY-MM-DD HH:mm"), "by": _("by"),
        "data hash": _("data hash")})
    st.caption(_("Metrics are each version's own validation split; compare two versions below on the same cases."))
    st.markdown(_("**History**"))
    if events:
        actions = {"register": _("registered"), "promote": _("promoted"), "rollback": _("rolled back"),
                   "not-promoted": _("not promoted")}
        shown = [{**e, "action": actions.get(e["action"], e["action"])} for e in events]  # codes shown as words
        st.dataframe(pd.DataFrame(shown), key="history_table",
 hide_index=True, column_config={
            "when": st.column_config.DatetimeColumn(_("when"), format="YYYY-MM-DD HH:mm"), "action": _("action"),
            "version": _("version"), "previous_active": _("previous active"), "by": _("by"), "reason": _("reason")})
    else:
        st.caption(_("No registrations, promotions or rollbacks recorded yet."))


def vs_active(record: dict | None) -> str | None:
    """'better than v1' from the comparison a retraining job stored with the version."""
    if not record:  # trained before the comparison existed, or not by a retraining job
        return None
    if "verdict" not in record:  # the job could not compare (no active version, too few held-out cases)
        return _("not compared")
    words = {"better": _("better than {name}"), "worse": _("worse than {name}"),
             "indistinguishable": _("indistinguishable from {name}")}
    return words.get(record["verdict"], record["verdict"]).format(name=record["against"])


def choose_version(others: list[models.VersionInfo]) -> models.VersionInfo:
    """The version to compare with the active one: the newest candidate unless another is chosen."""
    # Candidates first (newest first), then retired versions.
    others.sort(key=lambda v: (v.status != "candidate", -v.id))
    by_name = {v.name: v for v in others}
    # A candidate registered while the page was open (a finished job) is what the admin came to
    # compare: select it, even if the selector kept an older choice.
    newest = others[0].name if others[0].status == "candidate" else None
    if newest and st.session_state.get("_compare_newest") != newest:
        st.session_state["compare_version"] = newest
    st.session_state["_compare_newest"] = newest
    name = st.selectbox(_("Version"), list(by_name), key="compare_version",
                        format_func=lambda n: f"{n} ({status_word(by_name[n].status)})")
    return by_name[name]


def status_word(status: str) -> str:
    """A version's status (stored as a code) in the reader's language."""
    return {"active": _("active"), "candidate": _("candidate"), "retired": _("retired")}.get(status, status)


store = get_store()
st.title(_("Models"))
if notice := st.session_state.pop(model_actions.NOTICE, None):
    st.success(notice.strip(), icon=":material/check_circle:")

try:
    versions = models.list_versions(store)
    active = models.active_version(store)
    ts = models.training_set(store)
    events = models.history(store)
except RsadError as exc:
    show_error(exc)
    st.stop()

# --- the job ----------------------------------------------------------------------------------
job = job_panel(store, compact=False)
busy = job is not None and job["status"] in retrain.LIVE
if busy:
    model_actions.stop_button(store, job)

# --- training set -----------------------------------------------------------------------------
st.subheader(_("Training set"))
if not len(ts):
    st.info(_("No labeled cases yet: upload a labeled batch or record verdicts on the Review page."))
else:
    training_set_summary(ts)
    model_actions.retrain_form(store, busy=busy, active=active)

# --- versions -----------------------------------------------------------------------------------
st.subheader(_("Versions"))
if not versions:
    st.info(_("No model versions in this project yet: retrain above, or train its first model on the Upload or "
              "Label-to-start page."))
    st.stop()
versions_and_history(versions, events)

# --- compare, promote, roll back ------------------------------------------------------------------
if active is None:
    st.warning(_("No active version: nothing to compare against."))
    st.stop()
others = [v for v in versions if v.status != "active"]
st.subheader(_("Compare with the active version {name}").format(name=active.name))
if not others:
    st.info(_("Only the active version exists: retrain to get a candidate to compare."))
else:
    chosen = choose_version(others)
    result = compare_panel.comparison(store, chosen, active)
    if result is not None:
        compare_panel.show(store, result)
    if chosen.status == "candidate":
        model_actions.promote_form(store, chosen.name, active)
retired = [v.name for v in versions if v.status == "retired"]
if retired:
    st.subheader(_("Roll back"))

    model_actions.rollback_form(store, retired, active)
model_actions.rescore_prompt(store)
