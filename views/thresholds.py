"""Thresholds: where the alert line sits, judged on labels the model did not train on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from rsad.config import get_settings
from rsad.errors import RsadError
from rsad.i18n import N_, _
from rsad.service import models
from rsad.service import thresholds as th
from rsad.service.policies import Action
from views.common import current_user, get_store, md, reason_denied, show_error

if TYPE_CHECKING:
    from rsad.service.batches import Store

# Options are these English names (stable picker state), shown translated by the selectbox.
PICKERS = {
    N_("Max F1"): "max-f1", N_("Target precision"): "precision", N_("Target recall"): "recall",
    N_("Max false-positive rate"): "fpr", N_("Cost ratio"): "cost", N_("Analyst capacity"): "capacity",
}

# Undefined numbers come as NaN (shown "–", explained under the table) and still sort as numbers.
# Built per run (not at import): the labels follow the reader's language.
def segment_columns(segment: str) -> dict[str, Any]:
    num = st.column_config.NumberColumn
    return {
        "segment": segment, "cases": _("cases"), "anomalies": _("anomalies"),
        "precision": num(_("precision"), format="%.3f", help=_("Of the flagged cases, how many are anomalies")),
        "recall": num(_("recall"), format="%.3f", help=_("Of the anomalies, how many are flagged")),
        "fpr": num("FPR", format="%.3f", help=_("Of the normal cases, how many are flagged")),
        "flagged_rate": num(_("flagged rate"), format="%.3f"), "f1": num("F1", format="%.3f"),
        "own_threshold": num(_("own threshold"), format="%.4f", help=_("The best-F1 threshold within the segment")),
        "own_f1": num(_("F1 there"), format="%.3f"),
    }

# A mark on a curve: its label, where it sits (x, y), its hover data, its colour.
Mark = tuple[str, tuple[float, float], tuple[float, ...], str]


def load_report(store: Store, name: str) -> tuple[th.Report, float] | None:
    """The version's report and its saved threshold (None: an error, shown)."""
    try:
        # Kept per session and keyed by what would change it (new verdicts, batches, scores): a slider
        # move reruns the page without recomputing. Not st.cache_data: the first run shows progress.
        key = (get_settings().db_url, *th.stamp(store, name))
        if st.session_state.get("th_report_key") != key:
            bar = st.progress(0.0, text=_("Gathering the evaluation set…"))
            rep = th.report(store, name, progress=lambda d, t, m: bar.progress(min(1.0, d / t) if t else 1.0, text=m))
            bar.empty()
            st.session_state.update(th_report_key=key, th_report=rep)
        rep = st.session_state.th_report
        saved = models.get_version(store, name).threshold  # fresh: a save elsewhere shows at once
    except RsadError as exc:
        show_error(exc)
        return None
    return rep, saved


# --- the candidate: pickers and the slider ----------------------------------------------------------

def _slider_moved() -> None:
    st.session_state.update(th_candidate=st.session_state.th_slider, th_method="manual")


def _apply_picker() -> None:
    kind = PICKERS[st.session_state.th_picker]
    ss = st.session_state
    value = {"precision": ss.get("th_precision"), "recall": ss.get("th_recall"), "fpr": ss.get("th_fpr"),
             "cost": ss.get("th_cost"),
             "capacity": ss.get("th_analysts", 0) * ss.get("th_per_analyst", 0)}.get(kind)
    try:
        spec = th.parse_pick(kind if value is None else f"{kind}={value:g}")
        t = ss.th_report.pick(spec, daily_volume=ss.get("th_daily") or None)
    except RsadError as exc:
        ss.th_pick_error = str(exc)
        return
    ss.update(th_candidate=t, th_slider=round(t, 3), th_method=spec.label, th_pick_error="")


def _keep(key: str) -> None:
    st.session_state[f"{key}_kept"] = st.session_state[key]


def _kept_input(where: DeltaGenerator, label: str, lo: float, hi: float, default: float, step: float | None = None,
                *, key: str, **kw: str) -> None:
    """A picker's number input that keeps its value while another picker is shown.

    Streamlit drops the state of a widget a run does not draw, so each value is also kept
    under a plain session key and given back as the widget's starting value.
    """
    where.number_input(label, lo, hi, st.session_state.get(f"{key}_kept", default), step, key=key,
                       on_change=_keep, args=(key,), **kw)


def _picker_inputs(where: DeltaGenerator, k: str) -> None:
    """The inputs of picker ``k`` (a value of PICKERS)."""
    if k == "precision":
        _kept_input(where, _("Target precision"), 0.01, 1.0, 0.9, 0.01, key="th_precision")
    elif k == "recall":
        _kept_input(where, _("Target recall"), 0.01, 1.0, 0.8, 0.01, key="th_recall")
    elif k == "fpr":
        _kept_input(where, _("Max false-positive rate"), 0.001, 1.0, 0.01, 0.001, format="%.3f", key="th_fpr")
    elif k == "cost":
        _kept_input(where, _("A missed anomaly costs as much as … false alarms"), 0.1, 1000.0, 5.0, key="th_cost")
    elif k == "capacity":
        a, b, c = where.columns(3)
        _kept_input(a, _("Analysts"), 1, 1000, 3, key="th_analysts")
        _kept_input(b, _("Cases per analyst per day"), 1, 100000, 100, key="th_per_analyst")
        _kept_input(c, _("Daily volume (0 = the latest batch)"), 0, 100_000_000, 0, key="th_daily",
                    help=_("Cases arriving a day; the latest batch is taken as a sample of them."))
    else:
        where.caption(_("The threshold with the best F1 on the evaluation set."))


def picker_box() -> None:
    """A picker with its inputs and the candidate slider; both set the candidate threshold."""
    with st.container(border=True):
        c1, c2 = st.columns([1, 2])
        kind = c1.selectbox(_("Picker"), list(PICKERS), key="th_picker", format_func=_)
        _picker_inputs(c2, PICKERS[kind])
        st.button(_("Apply picker"), key="th_apply", on_click=_apply_picker, type="primary")
        if st.session_state.get("th_pick_error"):
            st.warning(st.session_state.th_pick_error)
        st.slider(_("Candidate threshold"), 0.0, 1.0, step=0.001, format="%.3f", key="th_slider",
                  on_change=_slider_moved)


# --- the candidate against the saved threshold ----------------------------------------------------

def candidate_metrics(rep: th.Report, cand: float, saved: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The candidate's numbers, each with its change from the saved threshold's; returns both sets."""
    now, new = rep.at(saved), rep.at(cand)
    method = st.session_state.th_method  # a picker spec (precision=0.9) stays as stored; "manual" is a word
    st.markdown(_("**Candidate {cand:.4f}** ({method}) · saved {saved:.4f}").format(
        cand=cand, method=_("manual") if method == "manual" else method, saved=saved))
    cols = st.columns(6)
    for col, (label, key) in zip(cols, [(_("Precision"), "precision"), (_("Recall"), "recall"), ("F1", "f1"),
                                        (_("False-positive rate"), "fpr"), (_("Flagged rate"), "flagged_rate")]):
        col.metric(label, f"{new[key]:.3f}", f"{new[key] - now[key]:+.3f}", delta_color="off")
    if new["batch_flagged"] is not None:
        cols[5].metric(_("Flagged in {batch}").format(batch=md(rep.batch)), f"{new['batch_flagged']:,}",
                       f"{new['batch_flagged'] - now['batch_flagged']:+,}", delta_color="off")
    return now, new


def _curve(x: list[float], y: list[float], custom: list[tuple[float, ...]], marks: list[Mark], xt: str, yt: str,
           hover: str, name: str) -> go.Figure:
    """A curve with the saved and candidate points marked; each mark carries the curve's own
    hover data (threshold first), so hovering it reads like hovering the curve, plus its name."""
    fig = go.Figure(go.Scatter(x=x, y=y, customdata=custom, mode="lines", name=name, hovertemplate=hover))
    for label, (mx, my), point, color in marks:
        fig.add_trace(go.Scatter(x=[mx], y=[my], customdata=[point], mode="markers", name=label,
                                 hovertemplate=f"<b>{label}</b><br>{hover}",
                                 marker={"size": 12, "color": color, "symbol": "diamond"}))
    fig.update_layout(xaxis_title=xt, yaxis_title=yt, height=380, margin={"t": 30, "b": 10},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def curve_charts(rep: th.Report, now: dict[str, Any], new: dict[str, Any]) -> None:
    """The ROC and PR curves with the saved and candidate thresholds marked."""
    curves = rep.curves
    roc, pr = curves["roc"], curves["pr"]
    # Each mark's hover data in the layout of its curve's customdata (threshold, then what the axes lack).
    marks_roc = [(label, (m["fpr"], m["recall"]), (m["threshold"], m["precision"], m["recall"]), color)
                 for label, m, color in ((_("saved"), now, "#888"), (_("candidate"), new, "#d62728"))]
    marks_pr = [(label, (m["recall"], m["precision"]), (m["threshold"], m["fpr"]), color)
                for label, m, color in ((_("saved"), now, "#888"), (_("candidate"), new, "#d62728"))]
    c1, c2 = st.columns(2)
    c1.plotly_chart(_curve(roc["fpr"], roc["tpr"], list(zip(roc["threshold"], roc["precision"], roc["tpr"])),
                           marks_roc, _("False-positive rate"), _("True-positive rate (recall)"),
                           _("threshold %{customdata[0]:.4f}<br>TPR %{y:.3f} · FPR %{x:.3f}<br>"
                             "precision %{customdata[1]:.3f} · recall %{customdata[2]:.3f}") + "<extra></extra>",
                           f"ROC (AUC {rep.aucs['roc_auc']:.3f})"), key="th_roc")
    c2.plotly_chart(_curve(pr["recall"], pr["precision"], list(zip(pr["threshold"], pr["fpr"])), marks_pr,
                           _("Recall"), _("Precision"),
                           _("threshold %{customdata[0]:.4f}<br>precision %{y:.3f} · recall %{x:.3f}<br>"
                             "TPR %{x:.3f} · FPR %{customdata[1]:.3f}") + "<extra></extra>",
                           f"PR (AUC {rep.aucs['pr_auc']:.3f})"), key="th_pr")


def confusion_and_segments(rep: th.Report, new: dict[str, Any], cand: float) -> None:
    """The confusion matrix at the candidate, and the numbers per segment of a metadata column."""
    c1, c2 = st.columns([1.3, 2])
    c1.markdown(_("**Confusion matrix at the candidate**"))
    c1.dataframe(pd.DataFrame({_("predicted anomaly"): [new["tp"], new["fp"]],
                               _("predicted normal"): [new["fn"], new["tn"]]},
                              index=[_("actual anomaly"), _("actual normal")]), key="th_confusion", width="stretch")
    with c2:
        keys = th.segment_keys(rep.eval.meta)
        if keys:
            seg = st.selectbox(_("Per-segment numbers by"), keys, key="th_segment")
            own = st.toggle(_("Per-segment thresholds (best F1 within each segment)"), key="th_own")
            st.dataframe(pd.DataFrame(th.segment_table(rep.labels, rep.scores, rep.eval.meta, seg, cand,
                                                       own_thresholds=own)),
                         key="th_segments", hide_index=True, width="stretch", placeholder="–",
                         column_config=segment_columns(seg))
            st.caption(_("– : the segment cannot have that number: precision with nothing flagged, recall "
                         "without anomalies, false-positive rate without normal cases, an own threshold with "
                         "fewer than {n} labels or only one class.").format(n=th.MIN_SEGMENT_CASES))
        else:
            st.caption(_("No metadata column splits the evaluation set into groups."))


@st.fragment
def calibration_panel(store: Store, rep: th.Report, name: str) -> None:
    with st.expander(_("Calibration: does a score read as a probability?")):
        cal = th.calibration(rep)
        before, after = cal["before"], cal["after"]
        st.write(_("Temperature **{t:.3f}** fitted on {n} cases. Expected calibration error {e0:.4f} → {e1:.4f}; "
                   "Brier score {b0:.4f} → {b1:.4f} (lower is better).").format(t=cal["temperature"],
                 n=cal["fitted_on"], e0=before["ece"], e1=after["ece"], b0=before["brier"], b1=after["brier"]))
        fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=_("perfect"), line={"dash": "dot"}))
        for label, r in ((_("raw scores"), before), (_("temperature-scaled"), after)):
            fig.add_trace(go.Scatter(x=r["mean_score"], y=r["anomaly_rate"], mode="lines+markers", name=label))
        fig.update_layout(xaxis_title=_("Mean score in bin"), yaxis_title=_("Share of anomalies"), height=360)
        st.plotly_chart(fig, key="th_reliability")
        current = models.get_version(store, name).temperature
        st.caption(_("Scores stay as they are (thresholds keep their meaning); a saved temperature adds the "
                     "calibrated probability to the case view.") + " "
                   + (_("Saved now: {t:.3f}.").format(t=current) if current else _("None saved.")))
        denied = reason_denied(Action.SAVE_TEMPERATURE)
        use = _("Use temperature {t:.3f} in the case view").format(t=cal["temperature"])
        if st.button(use, key="th_save_temperature", disabled=bool(denied), help=denied):
            try:
                th.save_temperature(store, name, cal["temperature"], user=current_user())
            except RsadError as exc:
                show_error(exc)
            else:
                st.toast(_("Calibration saved"))
        if denied:
            st.caption(f":material/lock: {denied}")


# --- saving, and what was saved before --------------------------------------------------------------

def save_form(store: Store, name: str, cand: float) -> None:
    """Save the candidate on the version, with why (admins; others see the form disabled)."""
    st.subheader(_("Save"))
    denied = reason_denied(Action.SAVE_THRESHOLD)
    with st.form("th_save_form"):
        reason = st.text_input(_("Why (kept in the history)"), key="th_reason", disabled=bool(denied))
        label = _("Save threshold {t:.4f} on {name}").format(t=cand, name=name)
        submitted = st.form_submit_button(label, key="th_save", disabled=bool(denied), help=denied)
        if denied:
            st.caption(":material/lock: " + _("{reason} You can explore the curves and pickers.").format(reason=denied))
    if submitted:
        try:
            out = th.save(store, name, cand, user=current_user(), method=st.session_state.th_method, reason=reason)
        except RsadError as exc:
            show_error(exc)
        else:
            st.toast(_("{model}: threshold {old:.4f} → {new:.4f}").format(**out))
            st.rerun()


def history_table(store: Store, name: str) -> None:
    history = th.history(store, name)
    if history:
        st.markdown(_("**History**"))
        st.dataframe(pd.DataFrame(history), key="th_history", hide_index=True, width="stretch", column_config={
            "when": st.column_config.DatetimeColumn(_("when"), format="YYYY-MM-DD HH:mm"), "who": _("who"),
            "from": _("from"), "to": _("to"), "method": _("method"), "reason": _("reason")})


st.title(_("Thresholds"))
store = get_store()
versions = models.list_versions(store)
if not versions:
    st.info(_("No model in this project yet: train its first model on the Upload or Label-to-start page."))
    st.stop()
names = [v.name for v in versions]
active = next((v.name for v in versions if v.status == "active"), names[0])
name = st.selectbox(_("Model version"), names, index=names.index(active), key="th_model")
loaded = load_report(store, name)
if loaded is None:
    st.stop()
rep, saved = loaded
# The candidate is an exact float; the slider shows it rounded. Reset it when the model changes.
if st.session_state.get("th_for") != name:
    st.session_state.update(th_for=name, th_candidate=saved, th_slider=round(saved, 3), th_method="manual")
st.caption(_("Evaluated on {what}.").format(what=rep.eval.describe()) + " "
           + (_("Latest batch **{batch}** ({n:,} cases).").format(batch=rep.batch, n=rep.batch_rows)
              if rep.batch_scores is not None
              else _("The latest batch is not fully scored by this version: flagged counts are unavailable.")))
picker_box()
cand = float(st.session_state.th_candidate)
now, new = candidate_metrics(rep, cand, saved)
curve_charts(rep, now, new)
confusion_and_segments(rep, new, cand)
calibration_panel(store, rep, name)
save_form(store, name, cand)
history_table(store, name)
