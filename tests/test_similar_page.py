"""Similar cases on the pages (AppTest): Review's panel for the open case, with its summary line,
and the search-by-example page, in English and in Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.data.orm import Case, CaseEmbedding
from rsad.ops import scoring
from rsad.review import verdicts
from rsad.service import batches

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def scored(store_with_model, users, tmp_path):
    """Batch "b": the tiny table, every case scored; three of them judged anomalies with reasons."""
    table = tiny_table(24)
    table.to_csv(tmp_path / "b.csv", index=False)
    batches.ingest_file(store_with_model, tmp_path / "b.csv", name="b")
    scoring.score_batch(store_with_model, "b")
    with store_with_model.session() as s:
        ids = dict(s.execute(select(Case.external_id, Case.id)).all())
        for ext, reason in (("c001", "fake order"), ("c005", "fake order"), ("c009", "")):
            verdicts.add_verdict(s, ids[ext], "anomaly", analyst="bo", reason_code=reason)
    return store_with_model, ids, table


def app(page: str, lang: str = "en", user: str = "ana") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_rsad_lang"] = lang
    sign_in(at.run(), user)
    at.switch_page(page).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def neighbours_table(at: AppTest, column: str = "cosine"):  # noqa: ANN201 - a DataFrame
    """The neighbours table (AppTest does not expose a plain dataframe's key: found by its column)."""
    tables = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(tables) == 1, [list(d.value.columns) for d in at.dataframe]
    return tables[0]


def test_review_shows_the_open_cases_neighbours_with_a_summary(scored):
    store, ids, _table = scored
    at = app("views/review.py")
    assert not at.get("segmented_control"), "off until asked for"
    at.toggle(key="similar_show").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = neighbours_table(at)
    assert len(table) == 10 and list(table["cosine"]) == sorted(table["cosine"], reverse=True)
    lines = [m.value for m in at.markdown if m.value.startswith(("This looks like", "None of the nearest"))]
    assert len(lines) == 1
    anomalies = int((table["verdict"] == "anomaly").sum())
    if anomalies:
        assert lines[0].startswith(f"This looks like {anomalies} confirmed anomaly case")
    at.segmented_control(key="similar_k").set_value(5).run()
    assert len(neighbours_table(at)) == 5


def test_search_by_example_lists_cases_like_the_text_in_chinese_too(scored):
    store, ids, table = scored
    at = app("views/similar.py", lang="zh")
    assert HAN.search(at.title[0].value)
    at.text_area(key="similar_text").input(table["behavior_description"][5]).run()
    at.button(key="similar_search").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    found = neighbours_table(at, "余弦")
    assert found.iloc[0, 1] == "c005" and found.iloc[0, 0] > 0.99
    assert any(HAN.search(m.value) for m in at.markdown)  # the summary line, in Chinese


def test_older_cases_without_vectors_are_said_plainly_and_an_admin_embeds_them(scored):
    store, ids, _table = scored
    with store.session() as s:
        s.execute(delete(CaseEmbedding))
    at = app("views/review.py")
    at.toggle(key="similar_show").set_value(True).run()
    assert any("before similar cases were kept" in i.value for i in at.info)
    assert at.button(key="similar_backfill").disabled  # an analyst: an admin's job
    at = app("views/similar.py", user="root")
    at.button(key="search_backfill").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("24 cases embedded" in s.value for s in at.success)
    with store.session() as s:
        assert len(s.execute(select(CaseEmbedding.case_id)).all()) == 24
