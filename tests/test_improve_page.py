"""The "Label to improve the model" page (AppTest): the batch's next cases in the desk's order,
why each is there, and "Open in Review", which opens that case in Review's matching sort."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.data import store as q
from rsad.data import uploads
from rsad.ops import scoring
from rsad.service import next_cases as nc

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _users(users):
    nc.forget()
    yield users
    nc.forget()


@pytest.fixture
def batch_store(store_with_model, tmp_path):
    """Batch "open": 30 unlabeled cases scored by the tiny model."""
    tiny_table(30).drop(columns=["is_anomaly"]).to_csv(tmp_path / "open.csv", index=False)
    uploads.ingest_file(store_with_model, tmp_path / "open.csv", name="open")
    scoring.score_batch(store_with_model, "open")
    return store_with_model


def improve_app(lang: str = "en", user: str = "ana") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_rsad_lang"] = lang
    sign_in(at.run(), user)
    at.switch_page("views/improve.py").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def links(at: AppTest) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in parse_qs(p.proto.query_string).items()} for p in at.get("page_link")]


def test_the_page_lists_the_best_next_cases_and_opens_one_in_review(batch_store):
    with batch_store.session() as s:
        batch_id = q.get_batch(s, "open").id
    best = nc.next_cases(batch_store, "open")
    at = improve_app()
    assert at.title[0].value == "Label to improve the model"
    rows = [m.value for m in at.markdown if re.match(r"\*\*\d+\.\*\* ", m.value)]
    assert len(rows) == len(best) == 30
    assert rows[0].startswith(f"**1.** {best[0].external_id} · score {best[0].score:.3f}, ")
    assert "the threshold" in rows[0]
    opened = links(at)
    assert opened[0] == {"batch": str(batch_id), "sort": "active", "case": str(best[0].id)}
    assert [int(p["case"]) for p in opened] == [c.id for c in best]
    assert all(p.proto.page.endswith("review.py") or p.proto.page == "review" for p in at.get("page_link"))
    # Random order: another list of the same cases, opened in Review's best-next sort.
    at.button_group(key="improve_strategy").set_value("random").run()
    assert not at.exception and not at.error
    shuffled = [int(p["case"]) for p in links(at)]
    assert sorted(shuffled) == sorted(c.id for c in best) and shuffled != [c.id for c in best]
    # "Open in Review" on the third case: Review opens it, in the best-next order, third of the queue.
    at.switch_page("views/review.py")
    at.query_params.update({"batch": str(batch_id), "sort": "active", "case": str(best[2].id)})
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="f_sort").value == "active"
    assert "3 of 30" in at.subheader[0].value and best[2].external_id in at.subheader[0].value
    at.button(key="verdict_normal").click().run()  # the keyboard's verdict flow: on to the next in order
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "3 of 29" in at.subheader[0].value and best[3].external_id in at.subheader[0].value


def test_the_page_speaks_chinese(batch_store):
    at = improve_app("zh")
    assert HAN.search(at.title[0].value) and all(HAN.search(c.value) for c in at.caption)
    assert all(HAN.search(p.value) for p in at.get("page_link"))
    assert len(at.get("page_link")) == 30


def test_without_a_model_the_page_points_to_label_to_start(store):
    at = improve_app()
    assert any("No model in this project yet" in i.value for i in at.info)
