"""The Review and Upload pages in Chinese (issue 21): the pages' own words come from the catalog,
while what is stored (verdict labels, reason codes) and the data (case names, texts) stay as they are."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.data import uploads
from rsad.i18n import use_language
from rsad.ops import scoring
from rsad.review import reports

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _users(users):
    return users


def zh_app(page: str) -> AppTest:
    """Signed in as ana on ``page``, with this tab's language set to Chinese before the first run."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_rsad_lang"] = "zh"
    sign_in(at.run(), "ana")
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def test_review_page_speaks_chinese(store_with_model, tmp_path):
    csv = tmp_path / "q.csv"
    tiny_table(10).to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="queue")
    scoring.score_batch(store_with_model, "queue")
    at = zh_app("review")
    assert at.title[0].value == "审核队列"
    assert at.caption[0].value.startswith("10 个案例符合条件 · 模型 ")
    assert at.subheader[0].value.startswith("案例 ") and "第 1/10 个" in at.subheader[0].value
    assert at.selectbox(key="f_batch").label == "批次" and at.selectbox(key="f_sort").label == "排序"
    # Codes stay codes underneath; the analyst reads them in Chinese.
    assert at.selectbox(key="f_status").options == ["未审核", "已审核", "全部"]
    buttons = [at.button(key=k).label for k in ("prev_case", "next_case", "verdict_anomaly")]
    assert buttons == ["上一个", "下一个", "异常"]
    assert any("倾向异常" in h.proto.body for h in at.get("html")), "the attribution legend"
    assert any(c.value.startswith("Layer Integrated Gradients（逐层积分梯度）") for c in at.caption)
    # AppTest calls the pages' format_func in this thread, outside any page run, where only
    # use_language says the tab's language: without it the Chinese options would not match.
    with use_language("zh"):
        at.button(key="verdict_anomaly").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    v = reports.verdict_table(store_with_model)
    assert list(v["label"]) == ["anomaly"], "the store keeps the verdict code, not its translation"
    assert any(t.value.endswith("：异常。") for t in at.toast)


def test_upload_page_speaks_chinese(store_with_model):
    at = zh_app("upload")
    assert at.title[0].value == "上传并打分"
    assert at.info[0].value.startswith("选择文件即可预览。") and "`behavior_description`" in at.info[0].value
    with use_language("zh"):  # as above: AppTest formats the options in this thread
        at.file_uploader(key="upload_file").upload("m.csv", tiny_table(6).to_csv(index=False).encode(),
                                                   "text/csv").run()
        assert at.selectbox(key="map_label").label == "标签列" and at.selectbox(key="map_id").options[0] == "（无）"
        at.button(key="score_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert {m.label for m in at.metric} == {"行数", "标记数", "标记率"}
    assert all(HAN.search(c.value) for c in at.caption if "m.csv" in c.value)
