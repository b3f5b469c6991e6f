"""Issue 22's pages in Chromium: Label to improve, Review in that order, Labels (agreement, label
issues), Second look and Models (the candidate's verdict against the active version).

Builds a store in DIR unless it is there: bench/learning_loop.py's loop from a cold start (a
starter on 150 demo seed labels, 100 verdicts in the desk's order, a retraining job: v2 against
v1), then a second analyst who judges 40 of the same cases (with a few disagreements) and a
label audit. Then, as an admin through `streamlit run serve.py`: open Label to improve, open its
first case in Review and record a verdict with the keyboard, read Labels, give a second look,
read Models; the Labels page once more in Chinese. Prints each step's wall time; screenshots go
to DIR/shots.

    python bench/loop_walk.py DIR
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _serve import add_admin, served, sign_in, walk_env  # noqa: E402

PASSWORD = "walk-password-123"
PORT = 8622


def build(folder: Path) -> None:
    """The store: the loop, a second analyst, an audit."""
    import learning_loop

    from rsad.auth.users import User
    from rsad.config import Settings
    from rsad.service import audit, batches, labels, review

    learning_loop.run_loop(folder, starter_labels=150, verdicts=100)
    store = batches.open_store(Settings(db_url=f"sqlite:///{folder}/rsad.sqlite3", models_dir=folder / "models",
                                        bootstrap=False))
    try:
        judged = labels.verdict_table(store, analysts=["sim"]).sort_values("id").head(40)
        for i, (cid, label) in enumerate(zip(judged["case_pk"], judged["label"])):
            other = {"anomaly": "normal", "normal": "anomaly"}.get(label, label)
            review.record_verdicts(store, [int(cid)], other if i % 8 == 0 else label, analyst="bo")
        audit.run_audit(store, user=User("walker", "admin"), max_issues=30)
    finally:
        store.dispose()


def timed(label: str, start: float) -> float:
    print(f"{label:60} {time.monotonic() - start:7.1f} s", flush=True)
    return time.monotonic()


def walk(shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        t = time.monotonic()
        sign_in(page, PORT, "walker", PASSWORD)
        t = timed("sign in", t)
        page.get_by_role("link", name="Label to improve", exact=True).click()
        expect(page.get_by_text(re.compile("best first")).first).to_be_visible()
        t = timed("Label to improve: the next 50 in the desk's order (embeds once)", t)
        page.screenshot(path=str(shots / "1-improve.png"), full_page=True)
        page.get_by_role("link", name="Open in Review").first.click()
        expect(page.get_by_role("heading", name="Review")).to_be_visible()
        page.wait_for_timeout(3_000)
        page.screenshot(path=str(shots / "2-review-best-next.png"), full_page=True)
        page.keyboard.press("a")  # the anomaly key: records and moves on in the same order
        page.wait_for_timeout(3_000)
        t = timed("Review in the best-next order, one verdict by key", t)
        page.screenshot(path=str(shots / "3-review-after-verdict.png"), full_page=True)
        page.get_by_role("link", name="Labels", exact=True).click()
        expect(page.get_by_text(re.compile("Fleiss")).first).to_be_visible()
        t = timed("Labels: agreement and label issues", t)
        page.screenshot(path=str(shots / "4-labels.png"), full_page=True)
        page.get_by_role("link", name="Second look", exact=True).click()
        expect(page.get_by_role("heading", name="Second look")).to_be_visible()
        page.screenshot(path=str(shots / "5-second-look.png"), full_page=True)
        page.get_by_role("button", name="Normal").first.click()
        page.wait_for_timeout(2_000)
        t = timed("Second look: one verdict", t)
        page.screenshot(path=str(shots / "6-second-look-after.png"), full_page=True)
        page.get_by_role("link", name="Models", exact=True).click()
        verdict = re.compile("(is better than|cannot be told apart from|is worse than) v1")
        expect(page.get_by_role("status").filter(has_text=verdict)).to_be_visible()  # not the job log's copy
        t = timed("Models: v2 against v1 with the paired bootstrap", t)
        page.screenshot(path=str(shots / "7-models.png"), full_page=True)
        page.get_by_role("combobox", name="Language").click()
        page.get_by_role("option", name="中文").click()
        page.get_by_role("link", name="标签", exact=True).click()
        expect(page.get_by_text(re.compile("Fleiss")).first).to_be_visible()
        page.wait_for_timeout(1_500)
        page.screenshot(path=str(shots / "8-labels-zh.png"), full_page=True)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        timed("Labels in Chinese", t)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    args = parser.parse_args()
    folder = args.dir.resolve()
    (folder / "shots").mkdir(parents=True, exist_ok=True)
    env = walk_env(folder)
    if not (folder / "rsad.sqlite3").exists():
        t = time.monotonic()
        build(folder)
        timed("the store: loop, second analyst, audit (not part of the walk)", t)
    add_admin(env, "walker", PASSWORD)
    with served(env, PORT):
        walk(folder / "shots")


if __name__ == "__main__":
    main()
