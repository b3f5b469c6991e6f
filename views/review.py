"""Review: the queue (filtered and paged in SQL), the case view, attributions and verdicts.

The page entry (app.py's st.navigation points here): the filters, read from and written to
the URL (views/review_filters.py), then one fragment with the queue table and its pager
(views/review_queue.py), the bulk and case verdict forms (views/review_verdicts.py) and the
open case (views/review_case.py). Cases ticked for a bulk verdict are kept as case ids,
never as row positions.
"""

import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _, ngettext
from rsad.service import review as triage
from rsad.service.review import QueueFilter
from views.common import analyst, get_store, md, show_error
from views.drift_panel import batch_warning
from views.review_case import case_view, explain_ahead, open_wanted_case
from views.review_filters import filters, write_url
from views.review_queue import PAGE_SIZE, clear_selection, load_page, pager, queue_done, queue_table
from views.review_verdicts import bulk_form
from views.shortcuts import add_shortcuts

store = get_store()
me = analyst()  # the signed-in user: verdicts and claims carry this name
ss = st.session_state


@st.fragment
def queue_and_case(f: QueueFilter) -> None:
    """The queue table and the open case, rerun on their own.

    A verdict, Previous/Next, a page button or a table click reruns only this fragment: the
    filters above are neither rerun nor redrawn, which keeps verdict -> next case quick
    (bench/review_browser.py). The sidebar and the filters refresh on the next full run.
    """
    # A fragment run skips app.py's sign-in check: a user removed or signed out meanwhile
    # must not record a verdict here. The whole app reruns and shows the sign-in screen.
    if analyst() != me:
        st.rerun()
    open_wanted_case(store, f)
    if message := ss.pop("_toast", None):  # first: the last verdict of a queue has its toast too
        st.toast(message)
    page = load_page(store, f)
    total, page_no = page.total, ss["queue_page"]
    n_pages = max(1, -(-total // PAGE_SIZE))
    st.caption(ngettext("{total:,} case matches · model {model} · threshold {threshold:.3f} · page {page} of {pages}",
                        "{total:,} cases match · model {model} · threshold {threshold:.3f} · page {page} of {pages}",
                        total).format(total=total, model=md(page.model), threshold=page.threshold, page=page_no,
                                      pages=n_pages))
    if page.held:
        st.caption(_("Open with other analysts, so not in your queue: {held}").format(held=_(", ").join(
            _("{n} with {analyst} (until {until} UTC)").format(n=h["cases"], analyst=md(h["analyst"]),
                                                               until=f"{h['until']:%H:%M}") for h in page.held)))
    if total == 0:
        clear_selection()
        write_url(f, 1, None)
        queue_done(store, f, page)
        return
    queue_table(page)
    pager(page_no, n_pages)
    bulk_form(store, me)
    pos = ss["case_pos"] = min(ss.setdefault("case_pos", 0), total - 1)
    case_id = triage.queue_case_at(store, f, pos, page)  # on the shown page: no second query
    if case_id is None:
        st.info(_("End of the queue."))
        return
    write_url(f, page_no, case_id)
    case_view(store, me, case_id, pos, total, f.status)
    explain_ahead(store, page, pos)


st.title(_("Review queue"))
try:
    batch_list = triage.batches(store)
except RsadError as exc:
    show_error(exc)
    st.stop()
if not batch_list:
    st.info(_("No batches yet: upload one on the Upload page."))
    st.stop()
queue_filter = filters(store, me, batch_list)
batch_warning(queue_filter.batch_id)
queue_and_case(queue_filter)
add_shortcuts({"a": "verdict_anomaly", "n": "verdict_normal", "u": "verdict_unsure",
               "j": "next_case", "arrowright": "next_case", "k": "prev_case", "arrowleft": "prev_case"})
