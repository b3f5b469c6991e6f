"""Issue 23's pages in Chromium: Overview's open-case ages, Rings (the list, one ring's members,
timeline and attributions, one verdict for the ring), Review's similar cases and case state
(escalate with a note), Escalated (an admin closes it with a reason), Similar cases (search by
example) and Rings once more in Chinese.

Uses the store in DIR as it is; builds the embedded demo there (`rsad demo`) only when DIR has no
store. Then, as an admin through `streamlit run serve.py`, walks the pages. Prints each step's
wall time; screenshots go to DIR/shots. Rerunnable: a ring already judged is not judged again
(the walk says so), and each run escalates and closes the queue's first case not yet closed.

    python bench/investigate_walk.py DIR
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _serve  # noqa: E402
from _serve import served  # noqa: E402

PASSWORD = "walk-password-123"
PORT = 8633
ESCALATE_NOTE = "Same five-star template as the shop ring; please decide."


def timed(label: str, start: float) -> float:
    print(f"{label:64} {time.monotonic() - start:7.1f} s", flush=True)
    return time.monotonic()


def example_text(folder: Path) -> str:
    """A text like the largest ring's first member's, from another shop: what an analyst would paste."""
    with sqlite3.connect(folder / "rsad.sqlite3") as db:
        row = db.execute("SELECT c.text, c.meta FROM rings r JOIN ring_members m ON m.ring_id = r.id "
                         "JOIN cases c ON c.id = m.case_id ORDER BY r.size DESC, r.id, c.id LIMIT 1").fetchone()
    if row is None:
        return "5 events over 2 min. 1 rating, mean 5.0, 100% five-star. Texts: \"five stars! perfect, thank you\"."
    return re.sub(r"shop-\d+", "shop-0999", row[0])


def paragraph(where: Any, bold: str) -> Any:
    """The Markdown paragraph that starts with a bold part (get_by_text finds only the bold part)."""
    return where.get_by_test_id("stMarkdownContainer").filter(has_text=bold).first


def to_top(locator: Any) -> None:
    """Scroll so that the element is at the top of the viewport (the screenshot shows what follows)."""
    locator.first.evaluate("e => e.scrollIntoView({block: 'start'})")


def no_exception(page: Any, where: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stException"), f"st.exception on {where}").to_have_count(0)


def sign_in(page: Any) -> None:
    _serve.sign_in(page, PORT, "walker", PASSWORD)


def overview(page: Any, shots: Path) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Open cases")).to_be_visible()
    expect(page.get_by_text("Median age")).to_be_visible()
    page.wait_for_timeout(1_500)  # the bar chart draws after the metrics
    no_exception(page, "Overview")
    page.screenshot(path=str(shots / "1-overview-open-cases.png"))


def rings_list_and_ring(page: Any, shots: Path) -> str:
    """The list, then the first ring with its attributions; returns its shared key."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Rings", exact=True).click()
    expect(page.get_by_text(re.compile("largest first")).first).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^Ring #\d+$"))).to_be_visible()
    page.wait_for_timeout(1_500)
    no_exception(page, "Rings")
    page.screenshot(path=str(shots / "2-rings-list.png"))
    key = paragraph(page, "Shared key:").inner_text()
    to_top(page.get_by_test_id("stPlotlyChart"))
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / "3-ring-open.png"))
    # The side-by-side attributions are computed in the background and drawn as they are ready.
    why = page.get_by_text(re.compile("Why these scores"))
    expect(why).to_be_visible()
    expect(page.get_by_text("Computing token attributions…")).to_have_count(0, timeout=300_000)
    page.wait_for_timeout(1_000)
    no_exception(page, "the open ring")
    why.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "3b-ring-attributions.png"))
    return key


def ring_verdict(page: Any, shots: Path) -> str:
    """One verdict for the ring; the Judged metric must then read n / n."""
    from playwright.sync_api import expect

    form = page.get_by_test_id("stForm")
    heading = paragraph(form, "Verdict for the whole ring").inner_text()
    open_members = int(re.search(r"\((\d+) members? not judged", heading).group(1))
    if open_members == 0:
        outcome = "already judged by an earlier run: no verdict recorded"
    else:
        form.get_by_text("anomaly", exact=True).click()
        form.get_by_role("combobox", name="Reason").click()
        page.get_by_role("option", name="fake review").click()
        form.get_by_label("Note").fill("Same shop, same template, 40 minutes: one coordinated ring.")
        form.get_by_role("button", name="Record for the ring").click()
        toast = page.get_by_test_id("stToast")
        expect(toast.filter(has_text=re.compile(r"verdicts recorded"))).to_be_visible()
        outcome = toast.first.inner_text().replace("\n", " ").removeprefix("check").strip()
    judged = page.get_by_test_id("stMetric").filter(has_text="Judged").inner_text()
    n = re.search(r"(\d+) / (\d+)", judged)
    assert n and n.group(1) == n.group(2), f"not every member judged: {judged!r}"
    members = page.get_by_test_id("stMetric").filter(has_text="Members").inner_text()
    page.wait_for_timeout(500)
    no_exception(page, "the ring verdict")
    paragraph(page, "Shared key:").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "4-ring-verdict.png"))
    return f"{outcome}; Judged {n.group(0)} ({members.split()[-1]} members)"


def review_similar_and_escalate(page: Any, shots: Path) -> str:
    """Review's first open case: similar cases on, then escalate it with a note; returns the case id."""
    from playwright.sync_api import expect

    page.get_by_role("link", name="Review", exact=True).click()
    case_head = page.get_by_role("heading", name=re.compile(r"^Case .+ of [\d,]+$"))
    state_line = page.get_by_test_id("stMarkdownContainer").filter(
        has_text=re.compile(r"(open|in review|escalated|closed) · (assigned to|unassigned)"))
    for _ in range(20):  # an earlier run escalated and closed the first cases: the next open one
        expect(state_line).to_be_visible()
        case = re.match(r"Case (\S+)", case_head.inner_text()).group(1)
        if re.search(r"\b(open|in review) · ", state_line.inner_text()):
            break
        page.get_by_role("button", name=re.compile(r"Next$")).click()
        expect(case_head).not_to_have_text(re.compile(rf"^Case {re.escape(case)} "))
    page.get_by_text("Show similar cases", exact=True).click()
    expect(page.get_by_text(re.compile(r"of the \d+ nearest")).first).to_be_visible()
    page.wait_for_timeout(1_500)
    no_exception(page, "Review with similar cases")
    to_top(page.get_by_text("Show similar cases", exact=True))
    page.screenshot(path=str(shots / "5-review-similar.png"))
    page.get_by_text("Case state and history", exact=True).click()
    note = page.get_by_label("Why escalate (the admin reads it)")
    note.fill(ESCALATE_NOTE)
    note.press("Enter")
    page.wait_for_timeout(1_000)
    page.get_by_role("button", name="Escalate", exact=True).click()
    expect(page.get_by_text(re.compile(rf"Case {re.escape(case)}: escalated\.")).first).to_be_visible()
    page.wait_for_timeout(1_000)
    no_exception(page, "Review after escalating")
    page.get_by_text("Case state and history", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "6-review-escalated.png"))
    return case


def escalated_close(page: Any, shots: Path, case: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Escalated", exact=True).click()
    expect(page.get_by_text(re.compile(r"waits? for an admin"))).to_be_visible()
    page.get_by_role("combobox", name="Case to resolve").click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(case)} · ")).click()
    expect(page.get_by_test_id("stMarkdownContainer").filter(has_text=ESCALATE_NOTE)).to_be_visible()
    page.wait_for_timeout(800)
    page.screenshot(path=str(shots / "7-escalated-list.png"))
    page.get_by_role("combobox", name="Closing reason").click()
    page.get_by_role("option", name="confirmed anomaly").click()
    note = page.get_by_label("Closing note")
    note.fill("Part of the shop ring's template.")
    note.press("Enter")
    page.wait_for_timeout(1_000)
    page.get_by_role("button", name="Close the case").click()
    expect(page.get_by_text(re.compile(rf"Case {re.escape(case)}: closed\.")).first).to_be_visible()
    page.wait_for_timeout(800)
    no_exception(page, "Escalated")
    page.screenshot(path=str(shots / "8-escalated-closed.png"))


def search_by_example(page: Any, shots: Path, text: str) -> str:
    from playwright.sync_api import expect

    page.get_by_role("link", name="Similar cases", exact=True).click()
    expect(page.get_by_role("heading", name="Similar cases")).to_be_visible()
    page.get_by_label("A behaviour description").fill(text)
    page.get_by_role("button", name="Find similar cases").click()
    summary = page.get_by_text(re.compile(r"of the \d+ nearest")).first
    expect(summary).to_be_visible()
    page.wait_for_timeout(1_500)
    no_exception(page, "Similar cases")
    page.screenshot(path=str(shots / "9-similar-search.png"))
    return summary.inner_text()


def rings_in_chinese(page: Any, shots: Path) -> None:
    from playwright.sync_api import expect

    page.get_by_role("combobox", name=re.compile("Language")).click()
    page.get_by_role("option", name="中文").click()
    page.get_by_role("link", name="团伙", exact=True).click()
    expect(page.get_by_role("heading", name="团伙", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^团伙 #\d+$"))).to_be_visible()
    page.wait_for_timeout(2_000)
    no_exception(page, "Rings in Chinese")
    page.screenshot(path=str(shots / "10-rings-zh.png"))
    # Back to English, so the next run (and the next walker) starts in English.
    page.get_by_role("combobox", name=re.compile("Language")).click()
    page.get_by_role("option", name="English").click()
    expect(page.get_by_role("heading", name="Rings", exact=True)).to_be_visible()


def walk(shots: Path, example: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1400})
        page.set_default_timeout(180_000)
        t = time.monotonic()
        sign_in(page)
        t = timed("sign in", t)
        overview(page, shots)
        t = timed("1 Overview: open-case ages", t)
        key = rings_list_and_ring(page, shots)
        t = timed("2 Rings: the list, the first ring and its attributions", t)
        print(f"   {key}")
        outcome = ring_verdict(page, shots)
        t = timed("2 Rings: one verdict for the ring", t)
        print(f"   {outcome}")
        case = review_similar_and_escalate(page, shots)
        t = timed(f"3 Review: similar cases, escalate {case} with a note", t)
        escalated_close(page, shots, case)
        t = timed(f"4 Escalated: close {case} with a reason", t)
        summary = search_by_example(page, shots, example)
        t = timed("5 Similar cases: search by example", t)
        print(f"   {summary}")
        rings_in_chinese(page, shots)
        timed("6 Rings in Chinese (and back to English)", t)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    args = parser.parse_args()
    folder = args.dir.resolve()
    (folder / "shots").mkdir(parents=True, exist_ok=True)
    env = _serve.walk_env(folder)
    cli = [sys.executable, "-m", "rsad.cli"]
    if not (folder / "rsad.sqlite3").exists():
        t = time.monotonic()
        subprocess.run([*cli, "demo"], env=env, check=True)
        timed("the store: the embedded demo (not part of the walk)", t)
    _serve.add_admin(env, "walker", PASSWORD)
    with served(env, PORT):
        walk(folder / "shots", example_text(folder))


if __name__ == "__main__":
    main()
