"""The case lifecycle on the pages (AppTest): the Review panel (state, assignee, age; escalate,
close), the admins' Escalated page and Overview's "Open cases"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.auth.users import User
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.model import versions
from rsad.ops import scoring
from rsad.service import cases

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def app(user: str, page: str | None = None, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_rsad_lang"] = lang
    sign_in(at.run(), user)
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


@pytest.fixture
def fake_store(store, users):
    """Three cases scored by a registered version whose folder does not exist: pages that never load it."""
    df = pd.DataFrame({"case_id": ["e0", "e1", "e2"], "behavior_description": ["one", "two", "three"]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="e.csv"), name="e")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                       metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, [0.9, 0.5, 0.1])
    return store, ids


def test_review_shows_the_state_and_escalates(store_with_model, users, tmp_path):
    csv = tmp_path / "q.csv"
    tiny_table(6).to_csv(csv, index=False)
    uploads.ingest_file(store_with_model, csv, name="queue")
    scoring.score_batch(store_with_model, "queue")
    at = app("ana", "review")
    line = next(m.value for m in at.markdown if "in review" in m.value)
    assert "assigned to ana" in line and "open 0.0 days" in line
    assert not any(b.key == "case_state_reopen" for b in at.button)  # only a closed case is reopened
    at.button(key="case_state_escalate").click().run()  # no note: refused, the case stays
    assert any("Say why you escalate" in e.value for e in at.error)
    at.text_input(key="case_state_escalate_note").input("same device as three others")
    at.button(key="case_state_escalate").click().run()
    assert not at.exception
    assert any("escalated by ana: same device as three others" in m.value for m in at.markdown)
    assert at.button(key="case_state_close").disabled  # escalated: it waits for an admin
    assert at.toggle(key="f_mine") is not None and at.selectbox(key="f_case_state").value is None


def test_an_admin_resolves_an_escalated_case(fake_store):
    store, ids = fake_store
    cases.change(store, ids[1], "escalate", user=User("ana", "analyst"), note="looks like a ring")
    at = app("root", "escalated")
    assert at.title[0].value == "Escalated cases"
    table = at.dataframe[0].value
    assert list(table["external_id"]) == ["e1"] and list(table["note"]) == ["looks like a ring"]
    prefix = f"escalated_{ids[1]}"
    at.selectbox(key=f"{prefix}_reason").set_value("false_positive")
    at.text_input(key=f"{prefix}_close_note").input("a family sharing a device")
    at.button(key=f"{prefix}_close").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    got = cases.status(store, ids[1])
    assert (got.state, got.closing_reason) == ("closed", "false_positive")
    assert got.closing_note == "a family sharing a device"
    assert any("No escalated cases" in s.value for s in at.success)
    assert any(s.value == "Case e1: closed." for s in at.success)
    assert not at.get("help")  # no st.help of a stray expression's value (Streamlit's magic)


def test_analysts_do_not_get_the_escalated_page(fake_store):
    at = app("ana")
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in an analyst's navigation
        at.switch_page("views/escalated.py")
    root = app("root")
    root.switch_page("views/escalated.py").run()
    assert any("No escalated cases" in s.value for s in root.success)


def test_overview_shows_the_age_of_open_cases(fake_store):
    store, ids = fake_store
    cases.change(store, ids[0], "escalate", user=User("ana", "analyst"), note="x")
    at = app("ana")
    assert any(s.value == "Open cases" for s in at.subheader)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["open"], metrics["escalated"], metrics["closed"]) == ("2", "1", "0")
    zh = app("ana", lang="zh")
    assert any(s.value == "未结案件" for s in zh.subheader)
