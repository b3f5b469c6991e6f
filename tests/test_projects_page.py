"""The sidebar's project switch and the admin's "New project" form, through the real app."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.data import uploads

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_admin_creates_a_project_and_every_page_then_shows_it(store, users, tmp_path):
    csv = tmp_path / "b.csv"
    tiny_table(10).to_csv(csv, index=False)
    uploads.ingest_file(store, csv, name="morning")
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "root")
    assert _metrics(at)["Cases"] == "10"
    assert at.sidebar.selectbox(key="project_switch").value == "default"
    at.text_input(key="np_name").input("sms-spam")
    at.text_input(key="np_codes").input("spam, phishing")
    at.button(key="FormSubmitter:new_project-Create").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.sidebar.selectbox(key="project_switch").value == "sms-spam"
    assert _metrics(at)["Cases"] == "0"  # a new project starts empty
    assert any("No model in this project yet" in w.value for w in at.sidebar.warning)
    # Remembered for the user: a new browser session opens in the same project ...
    again = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "root")
    assert again.sidebar.selectbox(key="project_switch").value == "sms-spam"
    # ... and switching back shows the old project's batch again.
    again.sidebar.selectbox(key="project_switch").select("default").run()
    assert _metrics(again)["Cases"] == "10"
    other = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "ana")  # ana's own choice
    assert other.sidebar.selectbox(key="project_switch").value == "default"


def test_an_analyst_switches_projects_but_cannot_create_one(store, users):
    from rsad.service.projects import add_project
    from rsad.service.users import User

    add_project(store, "reviews", user=User("root", "admin"))
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run(), "ana")
    assert at.sidebar.selectbox(key="project_switch").options == ["default", "reviews"]
    at.sidebar.selectbox(key="project_switch").select("reviews").run()
    assert not at.exception and at.sidebar.selectbox(key="project_switch").value == "reviews"
    (popover,) = [p.proto.popover for p in at.get("popover") if p.proto.popover.label == "New project"]
    assert popover.disabled and "needs the admin role" in popover.help
