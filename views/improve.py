"""Label to improve the model: a batch's next cases to label, in the desk's order (uncertain and
diverse, embedded with the active model), most uncertain first, or random. Each case says why it
is there and opens in Review, where the analyst judges it with the usual keys and moves on in
the same order (the queue's "best next to label" sort).

A page of its own rather than a default of Review: Review keeps its filters and its URL, and
this list, which embeds the first time, is computed only when an analyst asks for it."""

from __future__ import annotations

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import N_, _
from rsad.service import models, review
from rsad.service import next_cases as nc
from views.common import get_store, md, show_error

STRATEGIES = {"active": N_("Best next (uncertain and different)"), "uncertain": N_("Most uncertain"),
              "random": N_("Random")}
REVIEW_SORT = {"active": "active", "uncertain": "uncertain", "random": "active"}  # Review's sort for each
store = get_store()


def pick(batches: list[dict]) -> tuple[int, str]:
    """The batch (?batch=ID preselects one; else the newest) and the strategy."""
    ids = [b["id"] for b in batches]
    names = {b["id"]: _("{name} ({n:,} cases)").format(name=b["name"], n=b["rows"]) for b in batches}
    wanted = st.query_params.get("batch")
    index = next((i for i, b in enumerate(ids) if str(b) == wanted), 0)
    c1, c2 = st.columns([1, 1])
    batch_id = c1.selectbox(_("Batch"), ids, index=index, key="improve_batch", format_func=names.get)
    strategy = c2.segmented_control(_("Order"), list(STRATEGIES), default="active", key="improve_strategy",
                                    format_func=lambda s: _(STRATEGIES[s])) or "active"
    return batch_id, strategy


def load(batch_id: int, strategy: str) -> list[nc.NextCase]:
    """The list, with a progress bar while the active model embeds the candidates."""
    bar = st.empty()

    def progress(done: int, total: int, message: str) -> None:
        bar.progress(done / total if total else 1.0,
                     text=_("Embedding the candidates with the active model: {done:,} of {total:,}").format(
                         done=done, total=total))

    with st.spinner(_("Choosing the cases to label next…")):
        cases = nc.next_cases(store, batch_id, nc.NEXT_N, strategy, progress=progress)
    bar.empty()
    return cases


def why(case: nc.NextCase, threshold: float) -> str:
    said = (_("score {score:.3f}, {distance:.3f} above the threshold {threshold:.3f}") if case.distance >= 0 else
            _("score {score:.3f}, {distance:.3f} below the threshold {threshold:.3f}"))
    return said.format(score=case.score, distance=abs(case.distance), threshold=threshold)


def case_row(rank: int, case: nc.NextCase, batch_id: int, strategy: str, threshold: float) -> None:
    with st.container(border=True):
        c1, c2 = st.columns([5, 1])
        c1.markdown(_("**{rank}.** {case} · {why}").format(rank=rank, case=md(case.external_id),
                                                           why=why(case, threshold)))
        c1.text(" ".join(case.preview.split()))
        # page=: the lint reads a first positional argument as text; this one is a path.
        c2.page_link(page="views/review.py", label=_("Open in Review"), icon=":material/fact_check:",
                     query_params={"batch": str(batch_id), "sort": REVIEW_SORT[strategy], "case": str(case.id)})


def main() -> None:
    st.title(_("Label to improve the model"))
    st.caption(_("The cases whose labels would teach the next retraining most: near the threshold, and "
                 "different from each other and from the latest verdicts. Open one in Review and go on "
                 "with the usual keys: Review then follows the same order."))
    try:
        active = models.active_version(store)
        batches = review.batches(store)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    if active is None:
        st.info(_("No model in this project yet: label its first cases on the Label to start page."))
        st.page_link(page="views/start.py", label=_("Label to start"), icon=":material/school:")
        st.stop()
    if not batches:
        st.info(_("No batches yet: upload one on the Upload page."))
        st.stop()
    batch_id, strategy = pick(batches)
    try:
        cases = load(batch_id, strategy)
    except RsadError as exc:
        show_error(exc)
        st.stop()
    if not cases:
        st.success(_("Every case of this batch is labeled or reviewed."))
        return
    st.caption(_("The next {n} cases to label under model {model}, best first:").format(
        n=len(cases), model=md(active.name)))
    for rank, case in enumerate(cases, 1):
        case_row(rank, case, batch_id, strategy, active.threshold)


main()
