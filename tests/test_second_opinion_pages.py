"""Blind second opinions in the app: the admin's setting in the sidebar, and the Review page's
case view that hides the first verdict from the second analyst."""

from pathlib import Path

import pandas as pd
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from conftest import sign_in
from rsad.auth.users import User
from rsad.data import store as q
from rsad.data import uploads
from rsad.data.ingest import load_batch
from rsad.model import versions
from rsad.review import verdicts
from rsad.review.second_opinion import is_sampled
from rsad.service import projects
from rsad.service import review as triage

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_an_admin_sets_the_share_and_an_analyst_cannot(store, users):
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "root")
    box = at.number_input(key="ps_second_opinion")
    assert box.value == 0.0 and "0.05 is the usual choice" in box.help
    box.set_value(0.05)
    at.button(key="FormSubmitter:project_settings-Save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert projects.second_opinion_share(store) == 0.05
    assert any("second opinion share 0.05 saved" in t.value for t in at.toast)
    ana = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "ana")
    (popover,) = [p.proto.popover for p in ana.get("popover") if p.proto.popover.label == "Project settings"]
    assert popover.disabled and "needs the admin role" in popover.help


def test_the_second_analyst_judges_blind_then_sees_both(store_with_model, users):
    store = store_with_model
    df = pd.DataFrame({"case_id": [f"k{i:02d}" for i in range(12)],
                       "behavior_description": [f"login from a new device {i}" for i in range(12)]})
    uploads.save_batch(store, load_batch(df.to_csv(index=False).encode(), file_name="k.csv"), name="k")
    with store.session() as s:
        active = versions.require_active(s)
        ids = [r[0] for r in s.execute(text("SELECT id FROM cases ORDER BY id"))]
        q.put_scores(s, active.id, ids, [i / 11 for i in range(12)])
    projects.set_second_opinion_share(store, "default", 0.5, user=User("root", "admin"))
    verdicts.record_verdicts(store, ids, "anomaly", analyst="ana", reason_code="spam")
    sampled = [c for c in ids if is_sampled(c, 0.5)]
    assert sampled and len(sampled) < len(ids)

    bo = sign_in(AppTest.from_file(APP, default_timeout=120).run(), "bo").switch_page("views/review.py").run()
    assert not bo.exception and not bo.error, [e.value for e in bo.error]
    assert f"1 of {len(sampled)}" in bo.subheader[0].value  # only the sampled cases wait for bo
    assert any("Second opinion: judge it without the first verdict" in i.value for i in bo.info)
    assert not any("Earlier verdicts" in m.value for m in bo.markdown)
    shown = bo.subheader[0].value.split()[1]
    bo.button(key="verdict_normal").click().run()
    assert not bo.exception and not bo.error, [e.value for e in bo.error]
    assert f"1 of {len(sampled) - 1}" in bo.subheader[0].value
    case_id = next(c for c in ids if triage.case_view(store, c).external_id == shown)
    after = triage.case_view(store, case_id, viewer="bo")
    assert not after.second_opinion and {v["analyst"] for v in after.verdicts} == {"ana", "bo"}
