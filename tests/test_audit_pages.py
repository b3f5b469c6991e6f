"""AppTest of the Labels page's "Label issues" section and the Second look page (also in Chinese)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from test_audit import _flipped_table

from conftest import sign_in
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.service import audit
from rsad.service.labels import verdict_table
from rsad.service.users import User

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _users(users):
    return users


@pytest.fixture
def labeled(store):
    table, _ids = _flipped_table()
    uploads.save_batch(store, load_batch(table.to_csv(index=False).encode(), file_name="seed.csv"), name="seed")
    return store


def app(page: str, user: str = "ana", lang: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if lang:
        at.session_state["_rsad_lang"] = lang
    sign_in(at.run(), user)
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    return at


def _counts(at: AppTest) -> dict[str, int]:
    table = next(d.value for d in at.dataframe if "confirmed" in d.value.columns)
    return table.iloc[0].drop("audit").to_dict()


def test_analysts_see_the_counts_but_do_not_run_the_audit(labeled):
    audit.run_audit(labeled, user=User("root", "admin"), use_model=False, max_issues=6)
    first = audit.second_look_queue(labeled)[0][0]
    audit.record_second_look(labeled, first.case_id, "normal" if first.given_label else "anomaly", analyst="bo")
    at = app("labels")
    assert "Label issues" in [s.value for s in at.subheader]
    assert _counts(at) == {"found": 6, "open": 5, "confirmed": 0, "corrected": 1, "unsure": 0}
    button = at.button(key="run_label_audit")
    assert button.disabled and "needs the admin role" in button.help
    links = [p for p in at.get("page_link") if "second_look" in p.proto.page]
    assert links and links[0].proto.label == "Second look (5 open)"


def test_an_admin_runs_the_audit_from_the_labels_page(labeled):
    at = app("labels", user="root")
    assert any("No audit yet" in c.value for c in at.caption)
    at.button(key="run_label_audit").click().run()
    job = at.session_state["_label_audit_job"]
    for _ in range(240):
        if job.snapshot().status in ("done", "failed"):
            break
        time.sleep(0.5)
    assert job.snapshot().status == "done", job.snapshot().error
    at.run()
    assert not at.exception and not at.error
    assert _counts(at) == {"found": 30, "open": 30, "confirmed": 0, "corrected": 0, "unsure": 0}
    assert audit.summary(labeled).latest_by == "root"


def test_second_look_page_records_a_second_look_verdict(labeled):
    at = app("second_look")
    assert any("No label audit has run" in i.value for i in at.info)
    audit.run_audit(labeled, user=User("root", "admin"), use_model=False, max_issues=8)
    at.run()
    assert at.title[0].value == "Second look"
    assert "8 open · 0 confirmed" in at.caption[0].value
    cases, _total = audit.second_look_queue(labeled)
    assert len([b for b in at.button if b.key.startswith("second_normal_")]) == 5
    assert any("cross-validated models give" in c.value for c in at.caption)
    top = cases[0]
    verdict = "normal" if top.given_label else "anomaly"
    at.button(key=f"second_{verdict}_{top.case_id}").click().run()
    assert not at.exception and not at.error
    table = verdict_table(labeled)
    assert table[["analyst", "label", "reason_code"]].values.tolist() == [["ana", verdict, "second look"]]
    assert "7 open · 0 confirmed · 1 corrected" in at.caption[0].value
    assert not [b for b in at.button if b.key == f"second_{verdict}_{top.case_id}"]


def test_the_audit_pages_speak_chinese(labeled):
    audit.run_audit(labeled, user=User("root", "admin"), use_model=False, max_issues=3)
    at = app("second_look", lang="zh")
    assert HAN.search(at.title[0].value) and HAN.search(at.caption[0].value)
    assert all(HAN.search(b.label) for b in at.button if b.key.startswith("second_"))
    assert sum(bool(HAN.search(c.value)) for c in at.caption) >= 4  # the reasons too
    at.switch_page("views/labels.py").run()
    assert not at.exception and not at.error
    assert any(HAN.search(s.value) for s in at.subheader)
    assert HAN.search(at.button(key="run_label_audit").label)
