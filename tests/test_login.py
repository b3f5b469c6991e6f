"""AppTest of signing in and roles: the real sign-in form, lockouts, sign-out, SSO, the role gate,
the first-start admin, and two analysts in Review with case claims."""

from pathlib import Path

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.auth import users as auth
from rsad.auth import websessions
from rsad.auth.audit import events
from rsad.data import uploads
from rsad.ops import scoring
from rsad.review import reports
from rsad.service import batches
from rsad.service import review as triage
from rsad.service.review import QueueFilter

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def fresh(timeout: int = 180) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout).run()
    assert not at.exception, at.exception
    return at


def on_sign_in_screen(at: AppTest) -> bool:
    return bool(at.get("form")) and any(b.key == "login_submit" for b in at.button)


def test_sign_in_form_wrong_then_right_password_then_sign_out(store, users):
    at = fresh()
    assert on_sign_in_screen(at) and at.title[0].value == "RSAD Review Desk"
    assert not at.sidebar.button  # nothing behind the router runs before signing in
    sign_in(at, "ana", "not-the-password")
    assert [e.value for e in at.error] == ["Unknown user name or wrong password."]
    assert on_sign_in_screen(at)
    assert at.text_input(key="login_password").value == ""  # the form does not keep the password
    sign_in(at, "ana")
    assert not at.error and at.title[0].value == "Overview"
    assert at.sidebar.text[0].value == "Signed in as ana (analyst)"
    at.sidebar.button(key="logout").click().run()
    assert on_sign_in_screen(at)
    with store.session() as s:
        log = [(e["action"], e["subject"], e["ok"]) for e in events(s)]
    assert log == [("logout", "ana", True), ("login", "ana", True), ("login", "ana", False)]


def test_failed_sign_ins_lock_the_name_even_in_a_new_session(store, users):
    at = fresh()
    for i in range(store.settings.login_max_failures):
        sign_in(at, "bo", f"guess-{i}-wrong")
        assert any("wrong password" in e.value for e in at.error)
    sign_in(at, "bo")  # the right password, too late
    assert any("Too many failed sign-ins for 'bo'" in e.value for e in at.error) and on_sign_in_screen(at)
    other = sign_in(fresh(), "bo")  # another browser session: still locked
    assert any("Too many failed sign-ins" in e.value for e in other.error)
    assert auth.lock_state(store, "bo") is not None
    assert sign_in(fresh(), "ana").title[0].value == "Overview"  # other names still sign in


def test_only_admins_can_delete_a_batch_from_the_overview(store, users):
    uploads.ingest_file(store, tiny_table(6).to_csv(index=False).encode(), file_name="x.csv", name="doomed")
    analyst = sign_in(fresh(), "ana")
    assert analyst.button(key="delete_batch_button").disabled  # with the reason: tests/test_policies.py
    admin = sign_in(fresh(), "root")
    admin.selectbox(key="delete_batch_name").set_value("doomed")
    admin.text_input(key="delete_batch_confirm").input("doomed").run()
    admin.button(key="delete_batch_button").click().run()
    assert not admin.exception and not admin.error
    assert admin.success[0].value == "Deleted batch doomed: 6 cases, 0 verdicts."
    assert batches.overview(store)["totals"]["batches"] == 0
    with store.session() as s:
        assert [(e["action"], e["actor"]) for e in events(s, action="delete_batch")] == [("delete_batch", "root")]


def test_first_start_creates_an_admin_and_prints_its_password_once(store_with_model, monkeypatch, capsys):
    monkeypatch.setenv("RSAD_BOOTSTRAP", "1")  # an active model exists: no demo build starts
    at = fresh()
    printed = capsys.readouterr().err
    assert "created the admin user 'admin' with password" in printed
    password = printed.split("with password ")[1].split()[0]
    assert any("printed once in the terminal" in i.value for i in at.info)  # not the password itself
    assert password not in " ".join(e.value for e in [*at.info, *at.markdown])
    fresh()
    assert "created the admin user" not in capsys.readouterr().err  # once only
    sign_in(at, "admin", password)
    assert at.title[0].value == "Overview" and at.sidebar.text[0].value == "Signed in as admin (admin)"


SSO = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                "client_id": "id", "client_secret": "secret",
                "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}}


def test_single_sign_on_identity_and_role_from_the_user_file(store_with_model, users):
    auth.users_file(store_with_model.settings).add("lead@corp.example", "admin")
    at = AppTest.from_file(APP, default_timeout=180)
    at.secrets.update(SSO)
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception and not at.get("form")  # no password form when SSO is configured
    assert any(b.key == "login_sso" for b in at.button) or any("Authlib" in e.value for e in at.error)
    at.user = {"is_logged_in": True, "email": "Lead@corp.example", "name": "Lead"}
    at.run()
    assert at.title[0].value == "Overview" and at.sidebar.text[0].value == "Signed in as lead@corp.example (admin)"
    at.run()
    with store_with_model.session() as s:
        assert [(e["subject"], e["detail"]) for e in events(s, action="login")] == [
            ("lead@corp.example", "signed in (oidc)")]  # once per session, not per rerun
    other = AppTest.from_file(APP, default_timeout=180)
    other.secrets.update(SSO)
    other.user = {"is_logged_in": True, "email": "new@corp.example"}
    other.run()
    assert other.sidebar.text[0].value == "Signed in as new@corp.example (analyst)"


@pytest.fixture
def review_store(store_with_model, users):
    uploads.ingest_file(store_with_model, tiny_table(10).to_csv(index=False).encode(), file_name="q.csv", name="queue")
    scoring.score_batch(store_with_model, "queue")
    return store_with_model


def test_two_analysts_in_review_get_different_cases(review_store):
    ana = sign_in(fresh(), "ana").switch_page("views/review.py").run()
    bo = sign_in(fresh(), "bo").switch_page("views/review.py").run()
    assert not ana.exception and not bo.exception
    ana_case, bo_case = ana.subheader[0].value, bo.subheader[0].value
    assert "1 of 10" in ana_case and "1 of 9" in bo_case and ana_case.split("·")[0] != bo_case.split("·")[0]
    assert any("Open with other analysts, so not in your queue: 1 with ana" in c.value for c in bo.caption)
    assert any("Open with you until" in c.value for c in ana.caption)
    bo.button(key="verdict_normal").click().run()
    ana.button(key="verdict_anomaly").click().run()
    assert not ana.error and not bo.error, [e.value for e in ana.error + bo.error]
    v = reports.verdict_table(review_store)
    recorded = dict(zip(v["case_id"], zip(v["analyst"], v["label"])))
    assert recorded == {ana_case.split()[1]: ("ana", "anomaly"), bo_case.split()[1]: ("bo", "normal")}


def test_a_verdict_on_a_case_taken_meanwhile_is_refused(review_store):
    bo = sign_in(fresh(), "bo").switch_page("views/review.py").run()
    top = bo.subheader[0].value.split()[1]
    # bo walks away: the claim expires, and ana opens the case.
    with review_store.session() as s:
        s.execute(text("UPDATE case_claims SET expires_at = '2000-01-01 00:00:00.000000'"))
    case_id = triage.queue(review_store, QueueFilter()).rows[0]["id"]
    assert triage.claim_case(review_store, case_id, "ana")["mine"]
    # bo comes back and records a verdict from the page still showing that case.
    bo.button(key="verdict_anomaly").click().run()
    assert any(f"Case {top} is open with ana until" in e.value for e in bo.error)
    assert reports.verdict_table(review_store).empty
    assert bo.subheader[0].value.split()[1] != top  # and bo's queue has moved on


def test_without_serve_py_the_sign_in_screen_says_a_reload_signs_out(store, users):
    at = fresh()
    assert any("streamlit run serve.py" in c.value for c in at.caption)
    sign_in(at, "ana")
    with store.session() as s:  # no cookie route in this process: no session that nobody can use
        assert s.execute(text("SELECT COUNT(*) FROM web_sessions")).scalar() == 0


@pytest.fixture
def served(store, users, monkeypatch):
    """As under `streamlit run serve.py`: the cookie route is mounted in this process."""
    monkeypatch.setattr(websessions, "_route_mounted", True)
    return store


def cookie_scripts(at: AppTest) -> list[str]:
    return [str(el.proto) for el in at.get("iframe") if "/api/rsad/" in str(el.proto)]


def test_sign_in_hands_a_one_time_code_to_the_page_and_sign_out_revokes_the_session(served):
    at = sign_in(fresh(), "ana")
    assert at.sidebar.text[0].value == "Signed in as ana (analyst)"
    assert not any("serve.py" in c.value for c in at.caption)
    with served.session() as s:
        (token_hash, name, expires), = s.execute(text("SELECT token_hash, user_name, expires_at FROM web_sessions"))
    assert name == "ana"
    [script] = cookie_scripts(at)
    code = script.split('\\"code\\": \\"')[1].split('\\"')[0]
    assert "/api/rsad/session" in script and websessions.handoff_pending(code)
    token, max_age = websessions.redeem(code)  # what serve.py's route does when the page posts it
    assert websessions.hash_token(token) == token_hash and token not in script
    assert not cookie_scripts(at.run())  # traded: the script leaves the page
    at.sidebar.button(key="logout").click().run()
    assert on_sign_in_screen(at) and websessions.resolve(served, token) is None
    assert ["/api/rsad/sign-out" in s for s in cookie_scripts(at)] == [True]  # and the cookie goes


def test_a_cookie_signs_a_new_browser_session_in_until_it_is_revoked(served, monkeypatch):
    ticket = websessions.create(served, "ana")
    monkeypatch.setattr("views.common.session_cookie", lambda: ticket.token)
    at = fresh()
    assert at.sidebar.text[0].value == "Signed in as ana (analyst)" and not on_sign_in_screen(at)
    websessions.revoke_user(served, "ana")  # e.g. `rsad users passwd ana` meanwhile
    at.run()
    assert on_sign_in_screen(at)
    assert on_sign_in_screen(fresh())  # a revoked cookie signs nobody in


def test_an_expired_or_unknown_cookie_gives_the_sign_in_screen(served, monkeypatch):
    from datetime import timedelta

    from rsad.data.orm import utcnow

    old = websessions.create(served, "ana", now=utcnow() - timedelta(hours=served.settings.session_hours, seconds=1))
    for token in (old.token, "not-a-token"):
        monkeypatch.setattr("views.common.session_cookie", lambda token=token: token)
        at = fresh()
        assert on_sign_in_screen(at) and not at.sidebar.text


def test_the_sign_in_screen_speaks_the_servers_language(store, users, monkeypatch):
    monkeypatch.setenv("RSAD_LANG", "zh")  # nobody is signed in yet: the server's default applies
    at = fresh()
    assert on_sign_in_screen(at) and at.title[0].value == "RSAD 风控审核台"
    assert at.text_input(key="login_name").label == "用户名" and at.button(key="login_submit").label == "登录"
    assert at.sidebar.selectbox(key="language_switch_signin").value == "zh"


def test_a_language_chosen_in_the_sidebar_is_remembered_for_the_user(store, users, monkeypatch):
    from rsad.service import language

    monkeypatch.delenv("RSAD_LANG", raising=False)
    at = sign_in(fresh(), "ana")
    assert at.sidebar.text[0].value == "Signed in as ana (analyst)"
    at.sidebar.selectbox(key="language_switch").set_value("zh").run()
    assert at.sidebar.text[0].value == "已登录：ana（审核员）"
    assert language.language_of(store, "ana") == "zh"
    later = sign_in(fresh(), "ana")  # another browser session of the same user
    assert later.sidebar.text[0].value == "已登录：ana（审核员）"
    assert later.sidebar.button(key="logout").label == "退出登录"
    assert sign_in(fresh(), "bo").sidebar.text[0].value == "Signed in as bo (analyst)"  # per user
