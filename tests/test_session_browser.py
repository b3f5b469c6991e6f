"""Real-browser test of the sign-in cookie (issue 18, defect 4), against `streamlit run serve.py`.

A reload and a server restart keep ana signed in on the same page with the same query
parameters; the cookie is HttpOnly and its token is in no URL the browser asked for; sign-out
and expiry bring the sign-in screen back.
"""

import time
from datetime import timedelta

from sqlalchemy import update

from conftest import browser_sign_in, chromium_page, needs_chromium, tiny_table
from rsad.auth import websessions
from rsad.data import uploads
from rsad.data.orm import WebSession, utcnow

pytestmark = needs_chromium


def session_cookie(page, timeout_s: float = 30) -> dict | None:  # noqa: ANN001
    """The rsad_session cookie once the page has traded its sign-in code for it (None if never)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [c for c in page.context.cookies() if c["name"] == websessions.COOKIE]
        if found and found[0]["value"]:
            return found[0]
        page.wait_for_timeout(200)
    return None


def test_sign_in_survives_reload_and_restart_until_sign_out_or_expiry(streamlit_server, store_with_model):
    from playwright.sync_api import expect

    store = store_with_model
    batch = uploads.ingest_file(store, tiny_table(16).to_csv(index=False).encode(), file_name="evening.csv",
                            name="evening")["id"]
    review = f"{streamlit_server.url}/review?batch={batch}"
    with chromium_page() as (page, _dialogs):
        urls: list[str] = []
        page.on("request", lambda request: urls.append(request.url))

        def signed_in_on_review() -> None:
            expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
            expect(page.get_by_role("combobox", name="Batch")).to_have_value("evening (16)")
            assert page.url == review

        def sign_in_screen() -> None:
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            expect(page.get_by_text("Signed in as")).to_have_count(0)

        page.goto(streamlit_server.url)
        browser_sign_in(page, "ana")
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
        cookie = session_cookie(page)
        assert cookie is not None, "the sign-in set no session cookie"
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
        assert cookie["expires"] > time.time() + (store.settings.session_hours - 1) * 3600
        assert "rsad_session" not in page.evaluate("document.cookie")  # no page script can read it

        page.goto(review)  # a new browser session: the cookie signs ana in
        signed_in_on_review()
        page.reload()
        signed_in_on_review()

        streamlit_server.restart()  # same store, same port, a new process
        page.reload()
        signed_in_on_review()

        token = cookie["value"]
        assert urls and not [u for u in urls if token in u]
        assert websessions.resolve(store, token) == "ana"

        page.get_by_role("button", name="Sign out").click()
        sign_in_screen()
        assert websessions.resolve(store, token) is None
        deadline = time.monotonic() + 30  # the sign-in screen's script clears the cookie
        while session_cookie(page, timeout_s=0.5) is not None and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert session_cookie(page, timeout_s=0.5) is None
        page.reload()
        sign_in_screen()
        assert page.url == review  # the sign-in screen keeps the page and its query parameters

        browser_sign_in(page, "ana")
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
        second = session_cookie(page)
        assert second is not None and second["value"] != token
        with store.session() as s:  # the session runs out (RSAD_SESSION_HOURS later)
            s.execute(update(WebSession).where(WebSession.token_hash == websessions.hash_token(second["value"]))
                      .values(expires_at=utcnow() - timedelta(minutes=1)))
        page.reload()
        sign_in_screen()
