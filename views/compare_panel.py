"""Candidate against active: overlaid curves, metrics with deltas, flagged counts, disagreements."""

from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import N_, _
from rsad.service import batches
from rsad.service.models import compare, verdict_line, verdict_word
from views.common import md, md_message, show_error, version_classifier
from views.explain_panel import attribution_panel

if TYPE_CHECKING:
    from rsad.service.batches import Store
    from rsad.service.models import PairedBootstrap, VersionInfo

# The comparison table's metric codes (rsad.ops.compare.METRICS): shown as is in English, as words in Chinese.
METRICS = (N_("roc_auc"), N_("pr_auc"), N_("f1"), N_("precision"), N_("recall"), N_("accuracy"), N_("flagged_rate"))
COLORS = {"candidate": "#d62728", "active": "#1f77b4"}
CACHE = "_compare_cache"
# The verdict's colour: better is good news, worse a warning, indistinguishable neither.
SAYS = {"better": (st.success, ":material/trending_up:"), "worse": (st.warning, ":material/trending_down:"),
        "indistinguishable": (st.info, ":material/drag_handle:")}


def comparison(store: Store, candidate: VersionInfo, active: VersionInfo) -> dict | None:
    """The comparison, computed once per versions, thresholds and store contents (per session)."""
    totals = batches.overview(store)["totals"]
    stamp = (candidate.name, candidate.threshold, active.name, active.threshold,
             totals["verdicts"], totals["cases"], totals["batches"])
    cache = st.session_state.setdefault(CACHE, {})
    if stamp not in cache:
        bar = st.progress(0.0, text=_("Comparing…"))

        def progress(done: int, total: int, message: str) -> None:
            bar.progress(min(1.0, done / total) if total else 1.0, text=message or _("Comparing…"))

        try:
            result = compare(store, candidate.name, active.name, progress=progress)
        except RsadError as exc:
            bar.empty()
            show_error(exc)
            return None
        bar.empty()
        cache.clear()
        cache[stamp] = result
    return cache[stamp]


def _curve_figure(ev: dict, names: dict[str, str], kind: str) -> go.Figure:
    fig = go.Figure()
    for role in ("candidate", "active"):
        c = ev[role]["curves"][kind]
        m = ev[role]["metrics"]
        if kind == "roc":
            x, y, label = c["fpr"], c["tpr"], f"{names[role]} (AUC {m['roc_auc']:.3f})"
        else:
            x, y, label = c["recall"], c["precision"], f"{names[role]} (AP {m['pr_auc']:.3f})"
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=label, line=dict(color=COLORS[role]),
                                 customdata=c["threshold"], hovertemplate=_("threshold %{customdata:.3f}")))
    if kind == "roc":
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name=_("chance"),
                                 line=dict(color="#999", dash="dot"), hoverinfo="skip"))
    fig.update_layout(height=340, margin=dict(t=40, b=40), legend=dict(x=0.35, y=0.05),
                      title="ROC" if kind == "roc" else _("Precision-recall"),
                      xaxis_title=_("false positive rate") if kind == "roc" else _("recall"),
                      yaxis_title=_("true positive rate") if kind == "roc" else _("precision"),
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02])
    return fig


def show(store: Store, result: dict) -> None:
    cand, act = result["candidate"], result["active"]
    names = {"candidate": cand.name, "active": act.name}
    ev = result["evaluation"]
    if ev is None:
        st.warning(md_message(_("No evaluation set: {error}").format(error=result["evaluation_error"])),
                   icon=":material/warning:")
    else:
        verdict(ev["bootstrap"], cand.name, act.name)
        st.caption(_("Evaluation set: {what} — labeled cases neither version trained on. Each version at its own "
                     "threshold ({cand} {cand_t:.3f}, {act} {act_t:.3f}).").format(
            what=ev["describe"], cand=cand.name, cand_t=cand.threshold, act=act.name, act_t=act.threshold))
        c1, c2 = st.columns(2)
        c1.plotly_chart(_curve_figure(ev, names, "roc"), key="compare_roc")
        c2.plotly_chart(_curve_figure(ev, names, "pr"), key="compare_pr")
        table = ev["table"].rename(columns={"candidate": cand.name, "active": act.name})
        table["metric"] = table["metric"].map(_)  # English shows the codes themselves (METRICS marks them)
        st.dataframe(table, key="compare_metrics", hide_index=True, column_config={
            "metric": _("metric"), cand.name: st.column_config.NumberColumn(format="%.3f"),
            act.name: st.column_config.NumberColumn(format="%.3f"),
            "delta": st.column_config.NumberColumn(_("delta ({cand} − {act})").format(cand=cand.name, act=act.name),
                                                   format="%+.3f")})
    b = result["latest_batch"]
    if b:
        st.markdown(_("**Latest batch {batch}** ({n:,} cases), flagged at each one's threshold").format(
            batch=md(b["batch"]), n=b["rows"]))
        c = st.columns(4)
        c[0].metric(_("Flagged by {name}").format(name=cand.name), f"{b['flagged_candidate']:,}",
                    delta=f"{b['flagged_candidate'] - b['flagged_active']:+,}", delta_color="off")
        c[1].metric(_("Flagged by {name}").format(name=act.name), f"{b['flagged_active']:,}")
        c[2].metric(_("Newly flagged"), f"{b['newly_flagged']:,}")
        c[3].metric(_("No longer flagged"), f"{b['no_longer_flagged']:,}")
    _disagreements(store, result, names)


def verdict(boot: PairedBootstrap, cand: str, act: str) -> None:
    """Better, worse or cannot be told apart, said plainly, then the three metrics with their intervals."""
    say, icon = SAYS[boot.verdict]
    say(verdict_line(boot, cand, act), icon=icon)
    rows = [{"metric": m.label, cand: m.candidate, act: m.active, "delta": m.delta,
             "ci": f"{m.low:+.3f} … {m.high:+.3f}", "verdict": verdict_word(m.verdict)} for m in boot.metrics.values()]
    num = st.column_config.NumberColumn
    st.dataframe(rows, key="compare_bootstrap", hide_index=True, column_config={
        "metric": _("metric"), cand: num(format="%.3f"), act: num(format="%.3f"),
        "delta": num(_("delta ({cand} − {act})").format(cand=cand, act=act), format="%+.3f"),
        "ci": st.column_config.TextColumn(_("{level:.0%} CI").format(level=boot.confidence), help=_(
            "Paired bootstrap: {resamples:,} resamples of the same held-out cases, both versions scored on each; "
            "the difference is real when the interval leaves out 0. F1 is at each version's own threshold.")
            .format(resamples=boot.resamples)),
        "verdict": _("verdict")})


def _disagreements(store: Store, result: dict, names: dict[str, str]) -> None:
    # The radio's values stay codes ("evaluation", "batch"); only their captions are translated.
    sources, captions = {}, {}
    if result["evaluation"] is not None:
        sources["evaluation"] = result["evaluation"]["disagreements"]
        captions["evaluation"] = _("evaluation set")
    if result["latest_batch"]:
        sources["batch"] = result["latest_batch"]["disagreements"]
        captions["batch"] = _("latest batch ({batch})").format(batch=result["latest_batch"]["batch"])
    if not sources:
        return
    st.markdown(_("**Where they disagree most** · select a row to see both versions' attributions"))
    where = st.radio(_("Cases from"), list(sources), key="disagree_on", horizontal=True, format_func=captions.get)
    table = sources[where]
    shown = table.drop(columns=["case_pk"]).rename(columns={"candidate": names["candidate"], "active": names["active"]})
    if where != "evaluation":
        shown = shown.drop(columns=["label"])
    picked = st.dataframe(shown, key="disagree_eval" if where == "evaluation" else "disagree_batch",
                          hide_index=True, on_select="rerun", selection_mode="single-row", column_config={
                              "case": _("case"), "label": _("label"), "text": _("text"),
                              names["candidate"]: st.column_config.NumberColumn(format="%.3f"),
                              names["active"]: st.column_config.NumberColumn(format="%.3f"),
                              "difference": st.column_config.NumberColumn(_("difference"), format="%+.3f")})

    rows = picked.selection.rows if picked is not None else []
    if not rows:
        return
    case_pk = int(table.iloc[rows[0]]["case_pk"])
    left, right = st.columns(2)
    for col, role in ((left, "candidate"), (right, "active")):
        with col:
            try:
                clf = version_classifier(names[role])
            except RsadError as exc:
                show_error(exc)
                continue
            attribution_panel(store, case_pk, clf, version=names[role])

