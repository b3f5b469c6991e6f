"""Two replicas of the desk on one PostgreSQL store (docs/deploy.md): two `streamlit run serve.py`
processes on two ports, as two replicas behind a sticky load balancer would run.

Two analysts work the same queue at once, one through each replica, from the keyboard: every
verdict either page reported is in the store once, no case got two verdicts from the claim race,
and together they finished the queue. A sign-in on one replica is honoured by the other (the
session lives in the store, not in a process), and a job recorded through one shows on both.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from test_review_browser import idle
from test_session_browser import session_cookie

from conftest import PG_URL, StreamlitServer, browser_sign_in, chromium_page, needs_chromium, tiny_table
from rsad.auth.users import User
from rsad.data import uploads
from rsad.data.orm import Case, Verdict
from rsad.ops import scoring
from rsad.service import jobs

pytestmark = [needs_chromium, pytest.mark.skipif(not PG_URL, reason="RSAD_TEST_PG_URL is not set")]

N_CASES = 12
HEADING = re.compile(r"^Case (\S+)\s+·\s+\d+ of")
TAKEN = "has this case open until"
TOGGLE = "Show attributions only after my verdict"
AFTER_VERDICT = "Attributions appear once you have recorded your verdict on this case."


@pytest.fixture
def on_postgres(env, pg_url, monkeypatch):
    """The test's store is a fresh PostgreSQL database (set before ``store`` opens it)."""
    monkeypatch.setenv("RSAD_DB_URL", pg_url)
    return pg_url


@pytest.fixture
def replicas(on_postgres, store_with_model, users, env):
    """Two server processes on the one store, user file and models folder."""
    servers = [StreamlitServer(env / f"replica{k}.log") for k in (1, 2)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


class Analyst:
    """One analyst's tab on one replica, pressing one verdict key through the queue."""

    def __init__(self, page, url: str, key: str) -> None:  # noqa: ANN001
        self.page, self.url, self.key = page, url, key
        self.reported: list[str] = []  # cases whose verdict the page took (it moved on from them)
        self.done = False
        self.pressed_on: str | None = None

    def heading(self) -> str | None:
        for text in self.page.get_by_role("heading").all_inner_texts():
            if (m := HEADING.match(text.strip())) is not None:
                return m.group(1)
        return None

    def press(self) -> None:
        """Record a verdict on the open case (or step past one the other analyst holds)."""
        idle(self.page)
        self.pressed_on = None
        done, taken = self.page.get_by_text("Queue done"), self.page.get_by_text(TAKEN)
        switch = self.page.get_by_role("switch", name=TOGGLE)
        label = self.page.get_by_text(TOGGLE, exact=True)
        expect(done.or_(taken).or_(label).first).to_be_visible()  # the run has drawn the case, or the end
        if done.count():
            self.done = True
            return
        if taken.count():  # lost the claim race: the queue skips it once reloaded
            self.page.reload()
            return
        if not switch.is_checked():  # attributions after the verdict: none is computed while the keys fly
            label.click()
        # The case's run is over (the attributions wait for the verdict) and the keys are bound.
        expect(self.page.get_by_text(AFTER_VERDICT)).to_be_visible()
        self.page.wait_for_function("() => window.__rsadShortcutsInstalled === true")
        # Keys typed into a field (the toggle above, a box) are not shortcuts: the key goes to the page.
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        case = self.heading()
        if case is not None:
            self.pressed_on = case
            self.page.keyboard.press(self.key)

    def settle(self) -> None:
        """Wait for the page to leave the case it pressed on; that is the page reporting the verdict."""
        if self.pressed_on is None:
            return
        for _ in range(240):
            self.page.wait_for_timeout(250)
            if self.page.get_by_text("Queue done").count() or self.heading() not in (None, self.pressed_on):
                self.reported.append(self.pressed_on)
                return
        alerts = self.page.locator("[data-testid='stAlert'], [data-testid='stToast']").all_inner_texts()
        button = self.page.locator(".st-key-verdict_anomaly button")
        raise AssertionError(f"{self.url}: still on case {self.pressed_on} after its verdict key; {alerts}; "
                             f"buttons {[b.is_disabled() for b in button.all()]}")


def test_two_analysts_on_two_replicas_record_every_verdict_once(replicas, store_with_model, users):
    store = store_with_model
    batch = uploads.ingest_file(store, tiny_table(N_CASES).to_csv(index=False).encode(), file_name="night.csv",
                                name="night")["id"]
    scoring.score_batch(store, "night")
    job = jobs.start(store, jobs.RetrainParams(), user=User("root", "admin"), spawn=False)  # queued, not run
    one, two = replicas
    with chromium_page() as (page, dialogs):
        # Signed in on replica 1, the same browser is signed in on replica 2: no second sign-in.
        page.goto(f"{one.url}/review?batch={batch}")
        browser_sign_in(page, "ana")
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
        assert session_cookie(page) is not None, "the sign-in set no session cookie"
        page.goto(f"{two.url}/review?batch={batch}")
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()
        expect(page.get_by_role("combobox", name="Batch")).to_have_value(f"night ({N_CASES})")
        expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
        page.goto(f"{one.url}/review?batch={batch}")  # ana works on replica 1
        expect(page.get_by_text("Signed in as ana (analyst)")).to_be_visible()

        bo_context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
        bo_page = bo_context.new_page()
        bo_page.set_default_timeout(60_000)
        bo_page.goto(f"{two.url}/review?batch={batch}")
        browser_sign_in(bo_page, "bo")
        expect(bo_page.get_by_text("Signed in as bo (analyst)")).to_be_visible()

        ana, bo = Analyst(page, one.url, "a"), Analyst(bo_page, two.url, "n")
        for _round in range(3 * N_CASES):
            if ana.done and bo.done:
                break
            for analyst in (ana, bo):  # both keys are pressed before either page is waited for
                if not analyst.done:
                    analyst.press()
            for analyst in (ana, bo):
                analyst.settle()
        assert ana.done and bo.done, (ana.reported, bo.reported)

        # The job recorded through the store shows on both replicas' Models page (root, an admin).
        root = bo_context.browser.new_context().new_page()
        root.goto(f"{one.url}/models")
        browser_sign_in(root, "root")
        expect(root.get_by_text(f"job {job['id']} by root").first).to_be_visible()
        assert session_cookie(root) is not None
        root.goto(f"{two.url}/models")  # signed in there too, by the same cookie
        expect(root.get_by_text(f"job {job['id']} by root").first).to_be_visible()
        bo_context.close()
        assert not dialogs

    with store.session() as s:
        rows = s.execute(select(Case.external_id, Verdict.analyst, Verdict.label)
                         .join(Verdict, Verdict.case_id == Case.id).where(Case.batch_id == batch)).all()
        per_case = dict(s.execute(select(Verdict.case_id, func.count()).group_by(Verdict.case_id)).all())
    recorded = {"ana": sorted(c for c, a, _l in rows if a == "ana"), "bo": sorted(c for c, a, _l in rows if a == "bo")}
    assert recorded == {"ana": sorted(ana.reported), "bo": sorted(bo.reported)}  # none lost, none invented
    assert max(per_case.values()) == 1  # no case judged twice: the claims held across the replicas
    assert len(rows) == N_CASES  # together they finished the queue
    assert {label for _c, a, label in rows if a == "ana"} <= {"anomaly"}
    assert {label for _c, a, label in rows if a == "bo"} <= {"normal"}
    assert ana.reported and bo.reported  # both replicas really took verdicts
