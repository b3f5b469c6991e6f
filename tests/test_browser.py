"""One real-browser test: Debian's Chromium driven by Playwright against `streamlit run serve.py`.

Sign in, upload a CSV, score it, open the top flagged case, see highlighted tokens, record "anomaly"
with a reason from the keyboard, see the next case, record "normal" from the keyboard, and find
both verdicts in the store; a user removed meanwhile gets the sign-in screen from the next
verdict, which records nothing.
"""

import pytest

from conftest import browser_sign_in, chromium_page, needs_chromium, tiny_table
from rsad.auth.users import UserFile
from rsad.model import versions
from rsad.review import reports
from rsad.service import review as triage
from rsad.service.review import QueueFilter

pytestmark = needs_chromium


def test_upload_score_review_verdict_in_a_browser(server, store_with_model, env, tmp_path):
    from playwright.sync_api import expect

    data = tmp_path / "evening.csv"
    tiny_table(16).to_csv(data, index=False)
    with chromium_page() as (page, dialogs):
        page.goto(server)
        browser_sign_in(page, "ana")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
        page.get_by_role("link", name="Upload").click()
        page.locator("input[type=file]").set_input_files(str(data))
        expect(page.locator(".st-key-score_button button")).to_be_visible()
        page.locator(".st-key-score_button button").click()
        expect(page.get_by_text("Flagged rate")).to_be_visible(timeout=120_000)

        page.get_by_role("link", name="Review batch evening").click()
        expect(page.get_by_text("1 of 16")).to_be_visible()
        top = triage.queue(store_with_model, QueueFilter()).rows[0]
        expect(page.get_by_role("heading", name=f"Case {top['external_id']}")).to_be_visible()
        highlighted = page.locator(".rsad-explanation span[title]")
        expect(highlighted.first).to_be_visible(timeout=120_000)
        assert highlighted.count() >= 5

        reason = page.get_by_role("combobox", name="Reason")
        reason.click()
        reason.fill("spam")
        page.get_by_role("option", name="spam", exact=True).click()
        expect(page.get_by_role("combobox", name="Reason")).to_have_value("spam")
        reason.blur()  # keys typed into a field are text, not shortcuts
        page.keyboard.press("a")  # the keyboard shortcut for "Anomaly"
        expect(page.get_by_text("1 of 15")).to_be_visible()
        # The verdict reran only the queue-and-case fragment: the next case and its tokens show.
        second = triage.queue(store_with_model, QueueFilter()).rows[0]
        expect(page.get_by_role("heading", name=f"Case {second['external_id']}")).to_be_visible()
        start = second["preview"][:20].strip()
        expect(page.locator(".rsad-explanation")).to_contain_text(start, timeout=120_000)
        expect(highlighted.first).to_be_visible()
        # Streamlit scrolls inside its main block, not the document: bring the case into view.
        page.locator(".rsad-explanation").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "review.png"))
        page.keyboard.press("n")  # the next key is a shortcut again, not text in the Reason box
        expect(page.get_by_text("1 of 14")).to_be_visible()

        # Removed from the user file meanwhile: the next verdict, a fragment run, must not count.
        UserFile(env / "users.json").remove("ana")
        page.locator(".st-key-verdict_anomaly button").click()
        expect(page.get_by_label("User name")).to_be_visible()

    verdicts = reports.verdict_table(store_with_model).sort_values("id")
    assert len(verdicts) == 2
    row = verdicts.iloc[0]
    recorded = (row["case_id"], row["label"], row["reason_code"], row["analyst"])
    assert recorded == (top["external_id"], "anomaly", "spam", "ana")
    assert (verdicts.iloc[1]["case_id"], verdicts.iloc[1]["label"]) == (second["external_id"], "normal")
    assert row["threshold"] == pytest.approx(versions.active_version(store_with_model).threshold)
    assert not dialogs
    assert (tmp_path / "review.png").stat().st_size > 10_000
