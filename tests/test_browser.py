"""One real-browser test: Debian's Chromium driven by Playwright against `streamlit run app.py`.

Sign in, upload a CSV, score it, open the top flagged case, see highlighted tokens, record "anomaly"
with a reason from the keyboard, and find the verdict in the store.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import PASSWORDS, tiny_table
from rsad import api, triage

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason="Debian's chromium is not installed (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(store_with_model, users, env):
    port = _free_port()
    log = open(env / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((env / "streamlit.log").read_text())
            time.sleep(0.5)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(15)
    log.close()


def test_upload_score_review_verdict_in_a_browser(server, store_with_model, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    data = tmp_path / "evening.csv"
    tiny_table(16).to_csv(data, index=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)  # the first run imports torch: allow for a slow CI machine
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server)
        page.get_by_label("User name").fill("ana")
        page.get_by_label("Password", exact=True).fill(PASSWORDS["ana"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
        page.get_by_role("link", name="Upload").click()
        page.locator("input[type=file]").set_input_files(str(data))
        expect(page.locator(".st-key-score_button button")).to_be_visible()
        page.locator(".st-key-score_button button").click()
        expect(page.get_by_text("Flagged rate")).to_be_visible(timeout=120_000)

        page.get_by_role("link", name="Review batch evening").click()
        expect(page.get_by_text("1 of 16")).to_be_visible()
        top = triage.queue(store_with_model, triage.default_filter())["rows"][0]
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
        # Streamlit scrolls inside its main block, not the document: bring the case into view.
        page.locator(".rsad-explanation").scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "review.png"))
        browser.close()

    verdicts = triage.verdict_table(store_with_model)
    assert len(verdicts) == 1
    row = verdicts.iloc[0]
    assert (row["case_id"], row["label"], row["reason_code"], row["analyst"]) == (top["external_id"], "anomaly", "spam", "ana")
    assert row["threshold"] == pytest.approx(api.active_version(store_with_model)["threshold"])
    assert not dialogs
    assert (tmp_path / "review.png").stat().st_size > 10_000
