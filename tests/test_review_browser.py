"""The Review page in a real browser (Debian's Chromium, Playwright): what an analyst ticks,
clicks and presses is what gets recorded.

Reproduces issue 18's defects: ticked rows followed positions, not cases (a second click
wrote verdicts on cases nobody picked); keyboard verdicts stored a reason nobody chose; the
last verdict of a queue had no toast; clicking a row's cell did not open its case.
"""

from __future__ import annotations

import re

import pytest

from conftest import browser_sign_in, chromium_page, needs_chromium, tiny_table
from rsad.data import uploads
from rsad.ops import scoring
from rsad.review import reports, verdicts
from rsad.service import review as triage
from rsad.service.review import QueueFilter

pytestmark = needs_chromium

ROW_PX, HEAD_PX = 35, 35  # the queue table's row and header heights in Chromium


@pytest.fixture
def batch(store_with_model):
    """A 60-case batch: two pages of queue."""
    df = tiny_table(60)
    info = uploads.ingest_file(store_with_model, df.to_csv(index=False).encode(), file_name="night.csv", name="night")
    scoring.score_batch(store_with_model, "night")
    return info["id"]


def queue_rows(store) -> list[dict]:
    return triage.queue(store, QueueFilter(), limit=100).rows


def table(page):  # noqa: ANN001, ANN201
    return page.locator(".st-key-queue_table [data-testid='stDataFrame'], [data-testid='stDataFrame']").first


def case_heading(page, position: str):  # noqa: ANN001, ANN201
    """The open case's heading ("Case c001 · 1 of 3"); the caption's "page 1 of 1" reads alike."""
    return page.get_by_role("heading", name=re.compile(rf"· {re.escape(position)}$"))


def idle(page) -> None:  # noqa: ANN001
    """Wait until no script run is in flight: Streamlit's "Running…" indicator stays away for
    half a second (a verdict's run may be followed by the attribution panel's own run)."""
    from playwright.sync_api import expect

    running = page.get_by_test_id("stStatusWidget")
    for _ in range(120):
        page.wait_for_timeout(250)
        expect(running).to_have_count(0)
        page.wait_for_timeout(500)
        if running.count() == 0:
            return


def click_row(page, row: int, x: float = 15) -> None:  # noqa: ANN001
    """Click the queue table's row (0-based) at ``x`` pixels from its left: 15 is the tick box.
    Clicked once the page is idle, as a person would after the page settled."""
    idle(page)
    grid = table(page)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + HEAD_PX + ROW_PX * row + ROW_PX / 2)


def open_review(page, server: str, batch: int, n: int = 60) -> None:  # noqa: ANN001
    from playwright.sync_api import expect

    page.goto(f"{server}/review?batch={batch}")  # a link to this batch's queue ...
    browser_sign_in(page, "ana")  # ... is where signing in lands
    expect(case_heading(page, f"1 of {n:,}")).to_be_visible()
    expect(page.get_by_role("combobox", name="Batch")).to_have_value("night (60)")
    expect(page.locator(".rsad-explanation span[title]").first).to_be_visible(timeout=120_000)


def test_bulk_selection_follows_cases_not_rows(server, store_with_model, batch, tmp_path):
    from playwright.sync_api import expect

    rows = queue_rows(store_with_model)
    with chromium_page() as (page, dialogs):
        open_review(page, server, batch)
        for i in range(4):
            click_row(page, i)
        apply = page.get_by_role("button", name="Apply to 4 cases")
        expect(apply).to_be_visible()
        box = page.locator(".st-key-bulk_box")
        for r in rows[:4]:
            expect(box).to_contain_text(r["external_id"])
        page.screenshot(path=str(tmp_path / "bulk.png"), full_page=True)
        apply.dblclick()  # a double click is one submission
        expect(page.get_by_text("56 cases match")).to_be_visible()
        # The cases that slid into rows 1-4 are not ticked: no bulk form is offered for them.
        expect(page.get_by_text("Bulk verdict")).to_have_count(0)
        v = reports.verdict_table(store_with_model)
        assert len(v) == 4 and set(v["case_pk"]) == {r["id"] for r in rows[:4]}

        # A tick on page 1 stays with its case on page 2, and is listed as on another page.
        rows = queue_rows(store_with_model)
        click_row(page, 2)
        expect(page.get_by_role("button", name="Apply to 1 cases")).to_be_visible()
        page.get_by_role("button", name="Next page").click()
        expect(page.get_by_text("page 2 of 2")).to_be_visible()
        expect(page.locator(".st-key-bulk_box")).to_contain_text(rows[2]["external_id"])
        expect(page.locator(".st-key-bulk_box")).to_contain_text("1 of them on other pages")
        page.get_by_role("button", name="Clear selection").click()
        expect(page.get_by_text("Bulk verdict")).to_have_count(0)

    assert len(reports.verdict_table(store_with_model)) == 4
    assert not dialogs


def test_a_click_on_a_cell_opens_its_case_and_a_reload_comes_back_to_it(server, store_with_model, batch,
                                                                        tmp_path):
    from playwright.sync_api import expect

    rows = queue_rows(store_with_model)
    with chromium_page() as (page, dialogs):
        open_review(page, server, batch)
        click_row(page, 3, x=400)  # the text cell, not the tick box
        expect(page.get_by_role("heading", name=f"Case {rows[3]['external_id']}")).to_be_visible()
        expect(case_heading(page, "4 of 60")).to_be_visible()
        expect(page.get_by_text("Bulk verdict")).to_have_count(0)  # opening is not selecting
        page.screenshot(path=str(tmp_path / "opened.png"))
        # The URL names the batch and the open case: a reload (F5) comes back to it, signed in.
        assert f"batch={batch}" in page.url and f"case={rows[3]['id']}" in page.url
        page.reload()
        expect(page.get_by_role("heading", name=f"Case {rows[3]['external_id']}")).to_be_visible()
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
    assert reports.verdict_table(store_with_model).empty
    assert not dialogs


def test_keyboard_verdicts_record_only_a_chosen_reason(server, store_with_model, batch):
    from playwright.sync_api import expect

    rows = queue_rows(store_with_model)
    verdicts.record_verdicts(store_with_model, [r["id"] for r in rows[4:]], "normal", analyst="bo")
    with chromium_page() as (page, dialogs):
        open_review(page, server, batch, n=4)
        idle(page)
        page.keyboard.press("n")  # no reason chosen: none recorded
        expect(case_heading(page, "1 of 3")).to_be_visible()
        idle(page)
        reason = page.get_by_role("combobox", name="Reason")
        reason.click()
        reason.fill("spam")
        page.get_by_role("option", name="spam", exact=True).click()
        reason.blur()  # keys typed into a field are text, not shortcuts
        page.keyboard.press("a")
        expect(case_heading(page, "1 of 2")).to_be_visible()
        idle(page)
        expect(page.get_by_role("combobox", name="Reason")).to_have_value("")  # the next case starts without one
        page.keyboard.press("n")
        expect(case_heading(page, "1 of 1")).to_be_visible()
        idle(page)
        page.get_by_role("button", name="Unsure").click()  # the mouse path is the keyboard path
        expect(page.get_by_text("Queue done")).to_be_visible()
    mine = reports.verdict_table(store_with_model, analysts=["ana"]).sort_values("id")
    assert list(mine["case_pk"]) == [r["id"] for r in rows[:4]]
    assert list(mine["label"]) == ["normal", "anomaly", "normal", "unsure"]
    assert list(mine["reason_code"]) == ["", "spam", "", ""]
    assert not dialogs


def test_the_last_verdict_of_a_queue_shows_its_toast(server, store_with_model, batch):
    from playwright.sync_api import expect

    rows = queue_rows(store_with_model)
    verdicts.record_verdicts(store_with_model, [r["id"] for r in rows[1:]], "normal", analyst="bo")
    with chromium_page() as (page, dialogs):
        open_review(page, server, batch, n=1)
        idle(page)
        page.keyboard.press("a")
        toast = page.get_by_test_id("stToast")
        expect(toast).to_contain_text(f"{rows[0]['external_id']}: anomaly")  # now, on this queue
        expect(page.get_by_text("Queue done")).to_be_visible()
        expect(page.get_by_role("link", name="Retrain on the new verdicts (Models)")).to_be_visible()
        expect(page.get_by_text("score the batch")).to_have_count(0)
    assert not dialogs
