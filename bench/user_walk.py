"""A new user's walk in Chromium (issue 20's "done when"), with each step's wall time.

Builds an SMS-style file that is not in the desk's schema from ../shared/data/youtube_spam.csv
(400 comments; columns msg_id, message, label with spam/ham, a sender; two empty messages and
one row with bytes that are not UTF-8), a store with the embedded demo (`rsad demo`, which this
script runs unless DIR already holds it) and a server on it (`streamlit run serve.py`). Then,
as an admin in Chromium: create a project, upload the file (columns and labels recognised, bad
rows skipped), train the project's first model from its labels (it then scores the batch),
open its review queue; switch to the demo's project and score the same file with the demo's
model, which must warn that the batch looks foreign. Screenshots go to DIR/shots.

    python bench/user_walk.py DIR            # DIR: a scratch folder (reused: the demo is built once)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "youtube_spam.csv"
PASSWORD = "walk-password-123"


def sms_style(path: Path) -> None:
    df = pd.read_csv(SOURCE).drop_duplicates().sample(400, random_state=7).reset_index(drop=True)
    out = pd.DataFrame({"msg_id": [f"m{i:04d}" for i in range(len(df))], "message": df["behavior_description"],
                        "label": df["is_anomaly"].map({1: "spam", 0: "ham"}), "sender": df["author"]})
    out.loc[5, "message"], out.loc[17, "message"] = "   ", ""
    lines = out.to_csv(index=False).encode().split(b"\n")
    lines[30] = lines[30].replace(b",", b",\xff\xfe ", 1)  # one message that is not UTF-8
    path.write_bytes(b"\n".join(lines))


def timed(label: str, start: float) -> float:
    print(f"{label:55} {time.monotonic() - start:7.1f} s", flush=True)
    return time.monotonic()


def walk(url: str, data: Path, shots: Path, project: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(120_000)
        t = time.monotonic()
        page.goto(url)
        page.get_by_label("User name").fill("walker")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        t = timed("sign in", t)
        page.get_by_role("button", name="New project").click()
        page.get_by_role("textbox", name="Name", exact=True).fill(project)
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_text("No model in this project yet").first).to_be_visible()
        t = timed(f"create project {project!r} in the sidebar", t)
        page.get_by_role("link", name="Upload").click()
        page.locator("input[type=file]").set_input_files(str(data))
        expect(page.get_by_text(re.compile("Labels: spam → anomaly, ham → normal")).first).to_be_visible()
        page.get_by_role("button", name="Score").click()
        expect(page.get_by_text(re.compile(r"Skipped 3 rows"))).to_be_visible()
        train = page.get_by_role("button", name="Train the first model from these labels")
        expect(train).to_be_visible()
        t = timed("upload: preview, map, store (3 rows skipped)", t)
        page.screenshot(path=str(shots / "1-stored.png"), full_page=True)
        train.click()
        expect(page.get_by_text(re.compile("first model v1 is active and has scored batch"))).to_be_visible(
            timeout=1_800_000)
        t = timed("train the first model, then score the batch", t)
        page.screenshot(path=str(shots / "2-trained.png"), full_page=True)
        page.get_by_role("link", name="Review", exact=True).click()
        expect(page.get_by_text(re.compile(r"397 cases match · model v1"))).to_be_visible()
        t = timed("open the project's review queue", t)
        page.screenshot(path=str(shots / "3-review.png"), full_page=True)
        page.get_by_role("combobox", name="Project").click()
        page.get_by_role("option", name="default").click()
        expect(page.get_by_text(re.compile(r"cases match · model v1"))).to_be_visible()  # Review, in default
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.get_by_role("link", name="Upload").click()
        page.locator("input[type=file]").set_input_files(str(data))
        page.get_by_role("textbox", name="Batch name").fill(f"{project}-in-default")
        page.get_by_role("button", name="Score").click()
        expect(page.get_by_text(re.compile("looks foreign to model v1")).first).to_be_visible(timeout=600_000)
        t = timed("score it with the demo project's model (warning)", t)
        page.get_by_text(re.compile("looks foreign to model v1")).first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "4-foreign.png"))
        page.get_by_role("link", name="Overview").click()
        expect(page.get_by_text(re.compile("looks foreign to model v1")).first).to_be_visible()
        page.get_by_text("Drift across batches").click()
        page.wait_for_timeout(2_000)
        page.screenshot(path=str(shots / "5-overview.png"), full_page=True)
        browser.close()


def main() -> None:
    folder = Path(sys.argv[1]).resolve()
    (folder / "shots").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RSAD_DB_URL": f"sqlite:///{folder}/rsad.sqlite3",
           "RSAD_MODELS_DIR": str(folder / "models"), "RSAD_USERS_FILE": str(folder / "users.json"),
           "RSAD_BOOTSTRAP": "0"}
    rsad = [sys.executable, "-m", "rsad.cli"]
    data = folder / "sms_style.csv"
    sms_style(data)
    if not (folder / "rsad.sqlite3").exists():
        t = time.monotonic()
        subprocess.run([*rsad, "demo"], env=env, check=True, capture_output=True)
        timed("rsad demo (the default project's model, not part of the walk)", t)
    subprocess.run([*rsad, "users", "add", "walker", "--role", "admin", "--password-stdin"], env=env,
                   input=PASSWORD + "\n", text=True, capture_output=True)  # exists already on a rerun
    project = f"sms-{int(time.time())}"
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.port",
                               "8619", "--server.headless", "true"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen("http://127.0.0.1:8619/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        walk("http://127.0.0.1:8619", data, folder / "shots", project)
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
