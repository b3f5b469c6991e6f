"""The Rings page (AppTest): the rings of a batch by size, one opened with its members, shared key
and timeline, and one verdict for the whole ring; the ring settings in the sidebar (admins)."""

from pathlib import Path

import pandas as pd
from sqlalchemy import select, text
from streamlit.testing.v1 import AppTest

from conftest import sign_in
from rsad.auth.users import User
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.data.orm import Verdict
from rsad.model import versions
from rsad.service import rings

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _batch(store) -> list[int]:
    """Nine flagged cases: five on device dx within an hour, three on dy, one alone."""
    df = pd.DataFrame({"case_id": [f"g{i}" for i in range(9)],
                       "behavior_description": [f"{w} order number {i}" for i, w in enumerate("abcdefghi")],
                       "device_id": ["dx"] * 5 + ["dy"] * 3 + ["dz"],
                       "ts": [f"2026-10-01T10:{i:02d}:00" for i in range(9)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="g.csv"), name="g")
    with store.session() as s:
        v = versions.add_model_version(s, name="v1", folder="/m/v1", base_model="b", train_config={}, data_hash="h",
                                       metrics={}, threshold=0.5)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, v.id, ids, [0.9] * 5 + [0.99] * 3 + [0.95])
    rings.set_ring_settings(store, "default", rings.RingSettings(entity_columns=("device_id",), time_column="ts"),
                            user=User("root", "admin"))
    return ids


def test_the_rings_page_lists_opens_and_judges_a_ring(store, users):
    ids = _batch(store)
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "ana").switch_page("views/rings.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["size"]) == [5, 3] and list(table["key"]) == ["device_id=dx", "device_id=dy"]
    assert at.subheader[0].value == f"Ring #{table['id'].iloc[0]}"
    assert any("dx" in m.value for m in at.markdown if "Shared key" in m.value)
    members = at.dataframe[1].value
    assert sorted(members["case"]) == ["g0", "g1", "g2", "g3", "g4"]
    assert at.get("plotly_chart")  # the timeline
    at.selectbox(key="rings_open").set_value(int(table["id"].iloc[1])).run()
    assert sorted(at.dataframe[1].value["case"]) == ["g5", "g6", "g7"]
    at.text_area(key="ring_note").set_value("one phone")
    at.button(key="ring_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("3 verdicts recorded, 0 members already judged" in t.value for t in at.toast)
    with store.session() as s:
        rows = s.execute(select(Verdict.case_id, Verdict.ring_id, Verdict.analyst, Verdict.note)).all()
    assert sorted(rows) == [(c, int(table["id"].iloc[1]), "ana", "one phone") for c in ids[5:8]]
    assert all(at.dataframe[1].value["verdict"])  # each member shows its verdict now


def test_an_admin_sets_the_entity_columns_in_the_sidebar(store, users):
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "root")
    at.text_input(key="ps_entities").set_value("user_id, device_id")
    at.number_input(key="ps_ring_window").set_value(6.0)
    at.button(key="FormSubmitter:project_settings-Save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    saved = rings.ring_settings(store)
    assert saved.entity_columns == ("user_id", "device_id") and saved.window_hours == 6.0


def test_a_ring_key_reads_in_the_analysts_language():
    from rsad.i18n import use_language
    from views.ring_panel import key_text

    key = "shop_id=shop-0708; near-duplicate text; ip=1.2.3.4; +2"  # as ring_groups stores it
    with use_language("en"):
        assert key_text(key) == "shop_id=shop-0708; near-duplicate text; ip=1.2.3.4; +2 more"
    with use_language("zh"):
        assert key_text(key) == "shop_id=shop-0708；近似重复文本；ip=1.2.3.4；另有 2 项"
