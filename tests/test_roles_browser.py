"""Real-browser check of defect 3 (issue 18): an analyst in Chromium finds the Models page's
"Rescore now" and Promote disabled, with the reason, and pressing at them rescores nothing."""

from conftest import browser_sign_in, chromium_page, needs_chromium, tiny_table
from rsad.data import uploads
from rsad.model import versions
from rsad.ops import scoring

pytestmark = needs_chromium


def test_an_analyst_cannot_rescore_or_promote_in_a_browser(server, store_with_model):
    from playwright.sync_api import expect

    store = store_with_model
    # Batches the active version has not scored (the page offers "Rescore now"), and a candidate.
    # Comparing v2 with v1 on the page scores the latest batch: the backlog stays unscored.
    for name, first in (("backlog", 0), ("queue", 100)):
        table = tiny_table(12).drop(columns=["is_anomaly"])
        table["case_id"] = [f"{name}{first + i}" for i in range(12)]
        uploads.ingest_file(store, table.to_csv(index=False).encode(), file_name=f"{name}.csv", name=name)
    with store.session() as s:
        v1 = versions.get_model_version(s, "v1")
        versions.add_model_version(s, name="v2", folder=v1.folder, base_model=v1.base_model,
                                   train_config=v1.train_config, data_hash=v1.data_hash, metrics=v1.metrics,
                                   threshold=0.4, created_by="root")
    assert scoring.rescore_status(store)["unreviewed"] == 24

    with chromium_page() as (page, dialogs):
        page.goto(server)
        browser_sign_in(page, "ana")
        expect(page.get_by_text("Signed in as ana (analyst)", exact=True)).to_be_visible()
        page.get_by_role("link", name="Models").click()
        rescore = page.get_by_role("button", name="Rescore now")
        expect(rescore).to_be_visible(timeout=120_000)
        expect(rescore).to_be_disabled()
        expect(page.get_by_role("button", name="Promote v2")).to_be_disabled()
        expect(page.get_by_text("Rescoring the store needs the admin role").first).to_be_visible()
        rescore.click(force=True)  # a click on the disabled button does nothing
        page.wait_for_timeout(2_000)
        expect(page.get_by_text("Rescored")).to_have_count(0)
        assert not dialogs

    assert scoring.rescore_status(store)["unreviewed"] == 12  # the backlog: nothing was rescored
    assert versions.active_version(store).name == "v1"
