"""The desk in Chinese, in Chromium: the Chinese demo, a Chinese export, the UI switched to 中文.

Builds the Chinese demo (`rsad demo --lang zh`, project demo-zh, on the embedded MiniLM unless
`--base-model` is given) in DIR unless it is there, and a Chinese platform's export that is not
the desk's schema (headers 编号/评论内容/是否刷单, values 是/否/未知, one empty row, one text of
5,000 characters). Then, as an admin in Chromium, through `streamlit run serve.py`: sign in (the
server has no RSAD_LANG, so the screen is English), switch the sidebar's Language to 中文, switch
to demo-zh, read Overview (the unknown-token warning, in Chinese), open a case on Review (its
explanation in words), upload and score the export, and look at Models and Thresholds; then sign
in again in a fresh browser, which must open in Chinese (the choice is remembered per user).
Prints each step's wall time; screenshots go to DIR/shots.

    python bench/zh_walk.py DIR [--base-model FOLDER]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from _serve import served  # noqa: E402

from rsad.i18n import _, use_language  # noqa: E402

PASSWORD = "walk-password-123"
PORT = 8621


def zh(message: str) -> str:
    with use_language("zh"):
        return _(message)


def export(path: Path) -> None:
    """A review export as a Chinese shop would write it (not the desk's schema)."""
    rng = random.Random(5)
    fake = ["五星好评！{item}质量超好，加微信{n}返现{m}元", "同一收货地址{n}分钟内下单{m}次，好评内容几乎相同",
            "好评返现，晒图送红包，{item}一般", "新注册账号{n}个，集中在凌晨{m}点给{item}打五星"]
    real = ["{item}用了{n}天，做工还行，物流{m}天到", "客服回复很快，{item}尺码偏小，换了一次",
            "第{n}次回购{item}了，包装完好，价格比超市便宜{m}元", "{item}有点色差，但整体满意"]
    items = ["耳机", "连衣裙", "扫地机器人", "咖啡豆", "跑鞋", "充电宝"]
    rows = []
    for i in range(120):
        bad = i % 2 == 0
        text = rng.choice(fake if bad else real).format(item=rng.choice(items), n=rng.randint(2, 40),
                                                         m=rng.randint(2, 30))
        rows.append({"编号": f"JD{i:05d}", "评论内容": text, "是否刷单": "是" if bad else "否", "店铺": f"店铺{i % 7}"})
    rows[7]["评论内容"] = "   "  # skipped: no text
    rows[11]["是否刷单"] = "未知"  # skipped: no readable label
    rows[13]["评论内容"] = "这条评论非常长。" * 625  # 5,000 characters
    pd.DataFrame(rows).to_csv(path, index=False)


def timed(label: str, start: float) -> float:
    print(f"{label:60} {time.monotonic() - start:7.1f} s", flush=True)
    return time.monotonic()


def sign_in(page, expect) -> None:  # noqa: ANN001 - Playwright objects
    page.goto(f"http://127.0.0.1:{PORT}")
    page.get_by_label(re.compile("User name|用户名")).fill("walker")
    page.get_by_label(re.compile("^(Password|密码)$")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(Sign in|登录)$")).click()
    expect(page.get_by_role("heading", name=re.compile("^(Overview|概览)$"))).to_be_visible()


def walk(data: Path, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=180_000)  # a cold explanation or a scoring run on busy cores
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        t = time.monotonic()
        sign_in(page, expect)
        t = timed("sign in (English: the server has no RSAD_LANG)", t)
        page.get_by_role("combobox", name="Language").click()
        page.get_by_role("option", name="中文").click()
        expect(page.get_by_role("heading", name=zh("Overview"))).to_be_visible()
        page.get_by_role("combobox", name=zh("Project")).click()
        page.get_by_role("option", name="demo-zh").click()
        expect(page.get_by_text(re.compile("的词表中")).first).to_be_visible()
        t = timed("switch to 中文 and to project demo-zh (Overview warns)", t)
        page.screenshot(path=str(shots / "1-overview.png"), full_page=True)
        page.get_by_role("link", name=zh("Review"), exact=True).click()
        try:
            expect(page.locator(".rsad-explanation span[title]").first).to_be_visible()
        finally:
            page.screenshot(path=str(shots / "2-review.png"), full_page=True)
        t = timed("Review: the first case and its explanation", t)
        page.screenshot(path=str(shots / "2-review.png"), full_page=True)
        page.get_by_role("link", name=zh("Upload"), exact=True).click()
        page.locator("input[type=file]").set_input_files(str(data))
        expect(page.get_by_text(re.compile("是 → ")).first).to_be_visible()
        page.screenshot(path=str(shots / "3-upload.png"), full_page=True)
        page.get_by_role("textbox", name=zh("Batch name")).fill(f"店铺评论-{int(time.time())}")  # a rerun: a new batch
        page.get_by_role("button", name="打分", exact=True).click()
        expect(page.get_by_text(re.compile("% 的词元不在")).first).to_be_visible()
        t = timed("Upload: a Chinese export, mapped, stored, scored, warned", t)
        page.screenshot(path=str(shots / "4-scored.png"), full_page=True)
        for name in ("Models", "Thresholds"):
            page.get_by_role("link", name=zh(name), exact=True).click()
            expect(page.get_by_role("heading", name=zh(name))).to_be_visible()
            page.wait_for_timeout(1_500)
            page.screenshot(path=str(shots / f"5-{name.lower()}.png"), full_page=True)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        t = timed("Models and Thresholds", t)
        again = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        again.set_default_timeout(120_000)
        sign_in(again, expect)
        expect(again.get_by_role("heading", name=zh("Overview"))).to_be_visible()
        timed("a fresh browser signs in and opens in 中文 (remembered)", t)
        again.screenshot(path=str(shots / "6-again.png"), full_page=True)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--base-model", default="")
    args = parser.parse_args()
    folder = args.dir.resolve()
    (folder / "shots").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RSAD_DB_URL": f"sqlite:///{folder}/rsad.sqlite3",
           "RSAD_MODELS_DIR": str(folder / "models"), "RSAD_USERS_FILE": str(folder / "users.json"),
           "RSAD_BOOTSTRAP": "0"}
    env.pop("RSAD_LANG", None)
    rsad = [sys.executable, "-m", "rsad.cli"]
    data = folder / "店铺评论导出.csv"
    export(data)
    if not (folder / "rsad.sqlite3").exists():
        t = time.monotonic()
        extra = ["--base-model", args.base_model] if args.base_model else []
        subprocess.run([*rsad, "demo", "--lang", "zh", *extra], env=env, check=True)
        timed("rsad demo --lang zh (not part of the walk)", t)
    subprocess.run([*rsad, "users", "add", "walker", "--role", "admin", "--password-stdin"], env=env,
                   input=PASSWORD + "\n", text=True, capture_output=True)  # exists already on a rerun
    with served(env, PORT):
        walk(data, folder / "shots")


if __name__ == "__main__":
    main()
