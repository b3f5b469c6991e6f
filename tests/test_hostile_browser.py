"""Hostile uploads in a real browser: case texts, ids, metadata, notes and names that carry
HTML, scripts, javascript: links and Markdown tricks must show as typed and never run.

Every payload both opens a dialog and sets ``window.__pwned``: either would prove it ran.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import browser_sign_in, chromium_page, needs_chromium
from rsad.data import uploads
from rsad.ops import scoring
from rsad.review import verdicts
from rsad.service import review as triage
from rsad.service.review import QueueFilter

pytestmark = needs_chromium

RUN = "window.__pwned=1;alert(1)"
TEXTS = {
    "<img src=x onerror=\"window.__pwned=1;alert('id')\">": (
        f"<script>{RUN}</script> ordered the same item 9 times in 2 minutes from 12 devices"),
    "[c2](javascript:window.__pwned=1)": (
        f"<img src=x onerror=\"{RUN}\"> bought **bold** [click](javascript:{RUN}) <!-- hidden --> "
        "then left 40 five-star reviews"),
    "**c3** <b>bold</b>": (
        f"<a href=\"javascript:{RUN}\">link</a> javascript:{RUN} $x^2$ :red[red] &lt;b&gt; "
        "<svg onload=\"window.__pwned=1\"></svg> watched two cooking videos"),
}
META = {"<b>key</b>": f"<script>{RUN}</script>", "link": f"[m](javascript:{RUN})"}
NOTE = f"<img src=x onerror=\"{RUN}\"> **note** [n](javascript:{RUN}) <!-- c -->"
ANALYST = "<b>ana</b>[x](javascript:alert(1))"
BATCH = "<i>night</i> **shift** [b](javascript:alert(1))"

# Elements a payload would create if anything rendered it as HTML or Markdown.
INJECTED_JS = """() => {
  const found = [];
  for (const sel of ["img[src='x']", "[onerror]", "[onload]", "[*|href^='javascript' i]"]) {
    if (document.querySelector(sel)) found.push(sel);
  }
  if ([...document.scripts].some(s => s.textContent.includes("__pwned"))) found.push("script");
  const words = ["bold", "night", "shift", "note", "key", "c2", "c3", "click", "link", "red"];
  for (const e of document.querySelectorAll("b, i, strong, em, a, h1, h2, h3, h4, code")) {
    if (words.includes(e.textContent.trim())) found.push(e.outerHTML);
  }
  return found;
}"""


@pytest.fixture
def hostile_store(store_with_model):
    df = pd.DataFrame({"case_id": list(TEXTS), "behavior_description": list(TEXTS.values())})
    for key, value in META.items():
        df[key] = value
    uploads.ingest_file(store_with_model, df.to_csv(index=False).encode(), file_name="hostile.csv", name=BATCH)
    scoring.score_batch(store_with_model, BATCH)
    rows = triage.queue(store_with_model, QueueFilter(status="all")).rows
    # One case keeps no verdict (so the unreviewed queue still shows it); the others get hostile notes.
    verdicts.record_verdicts(store_with_model, [r["id"] for r in rows[1:]], "anomaly", analyst=ANALYST,
                           reason_code="spam", note=NOTE)
    return store_with_model


def _nothing_ran(page, dialogs) -> None:
    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    for frame in page.frames:
        assert frame.evaluate(INJECTED_JS) == [], frame.url


def test_hostile_content_shows_as_text_and_never_runs(server, hostile_store):
    from playwright.sync_api import expect

    order = [r["external_id"] for r in triage.queue(hostile_store, QueueFilter(status="all")).rows]
    with chromium_page() as (page, dialogs):
        page.goto(server)
        browser_sign_in(page, "ana")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").first).to_contain_text(BATCH)  # the batch table
        _nothing_ran(page, dialogs)
        page.get_by_role("link", name="Review").click()
        expect(page.get_by_role("heading", name=re.compile(r" 1 of 1$"))).to_be_visible()
        # Every case, reviewed or not: status "all".
        status = page.get_by_role("combobox", name="Status")
        status.click()
        page.get_by_role("option", name="all", exact=True).click()
        for pos, external_id in enumerate(order):
            heading = page.get_by_role("heading", name=f"Case {external_id}  ·  {pos + 1} of {len(order)}")
            expect(heading).to_be_visible()
            expect(page.get_by_test_id("stMain").get_by_test_id("stText").first).to_have_text(TEXTS[external_id])
            explanation = page.locator(".rsad-explanation")
            expect(explanation).to_contain_text(TEXTS[external_id], timeout=120_000)
            assert page.locator(".rsad-explanation span[title]").count() >= 3
            _nothing_ran(page, dialogs)
            if pos + 1 < len(order):
                # By role: a hidden copy of the button stays in the DOM (not in the accessibility tree).
                page.get_by_role("button", name="Next", exact=True).click()
        page.get_by_role("link", name="Labels").click()
        expect(page.get_by_role("heading", name="Verdicts (2)")).to_be_visible()
        expect(page.get_by_role("heading", name="Current labels")).to_be_visible()
        page.wait_for_timeout(1_000)  # let the tables draw
        _nothing_ran(page, dialogs)
        # The grid draws on a canvas; its accessibility table holds the cells' text for screen readers.
        verdict_grid = page.get_by_test_id("stDataFrame").first
        expect(verdict_grid).to_contain_text(NOTE)
        expect(verdict_grid).to_contain_text(ANALYST)
        page.get_by_role("combobox", name="Batch").click()
        expect(page.get_by_role("option", name=BATCH, exact=True)).to_be_visible()
        _nothing_ran(page, dialogs)
