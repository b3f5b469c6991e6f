"""Sign-in: the user file, argon2 hashes, roles, rate-limited and logged failed sign-ins."""

import json
import logging
import stat
from datetime import timedelta

import pytest

from rsad.auth import policies
from rsad.auth import users as auth
from rsad.auth.audit import events
from rsad.data.orm import utcnow
from rsad.errors import AccessError, InputError, NotFoundError, StateError
from rsad.service.batches import open_store


def test_user_file_keeps_salted_argon2_hashes_only(store, users):
    file = auth.users_file(store.settings)
    raw = file.path.read_text()
    assert users["ana"] not in raw  # no password in the clear
    data = json.loads(raw)["users"]
    assert {n: u["role"] for n, u in data.items()} == {"ana": "analyst", "bo": "analyst", "root": "admin"}
    assert data["ana"]["hash"].startswith("$argon2id$")
    file.add("cy", "analyst", users["ana"])  # the same password ...
    assert file.get("cy")["hash"] != file.get("ana")["hash"]  # ... hashes differently: salted
    assert stat.S_IMODE(file.path.stat().st_mode) == 0o600
    with pytest.raises(InputError, match="already exists"):
        file.add("ANA ", "admin", "another-password")  # names are case-insensitive
    with pytest.raises(InputError, match="Role must be one of"):
        file.add("dee", "owner", "another-password")
    with pytest.raises(InputError, match="at least 10 characters"):
        file.add("dee", "analyst", "short")
    with pytest.raises(InputError, match="User name"):
        file.add("<script>", "analyst", "another-password")
    with pytest.raises(StateError, match="last admin"):
        file.remove("root")
    file.remove("cy")
    with pytest.raises(NotFoundError):
        file.remove("cy")


def test_sign_in_checks_the_password_and_records_every_attempt(store, users, caplog):
    user = auth.sign_in(store, " Ana ", users["ana"])
    assert user == auth.User("ana", "analyst", "password") and not policies.has_role(user, "admin")
    assert policies.has_role(auth.sign_in(store, "root", users["root"]), "admin")
    caplog.set_level(logging.INFO, logger="rsad.auth.users")
    # A wrong password and an unknown name get the same answer: no user enumeration.
    for name, password in (("ana", "not-her-password"), ("mallory", "whatever-pass")):
        with pytest.raises(AccessError, match="Unknown user name or wrong password"):
            auth.sign_in(store, name, password)
    with pytest.raises(AccessError, match="Enter your user name"):
        auth.sign_in(store, "ana", "")
    with store.session() as s:
        log = events(s, action="login")
    assert [(e["subject"], e["ok"], e["detail"]) for e in log] == [
        ("mallory", False, "unknown user"), ("ana", False, "wrong password"),
        ("root", True, "signed in"), ("ana", True, "signed in")]
    failed = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert failed == ["failed sign-in for 'ana': wrong password", "failed sign-in for 'mallory': unknown user"]


def test_failed_sign_ins_lock_the_name_across_sessions_until_the_lock_ends(store, users):
    t0 = utcnow()
    limit, lock_s = store.settings.login_max_failures, store.settings.login_lock_s
    assert (limit, lock_s) == (5, 300)
    for i in range(limit):
        with pytest.raises(AccessError, match="wrong password"):
            auth.sign_in(store, "ana", f"guess-number-{i}", now=t0 + timedelta(seconds=i))
    # Locked: even the right password is refused, without being checked.
    with pytest.raises(AccessError, match=r"Too many failed sign-ins for 'ana': try again in 29[67] s"):
        auth.sign_in(store, "ana", users["ana"], now=t0 + timedelta(seconds=8))
    # A new store (another process, a restarted server) sees the same lock.
    other = open_store()
    with pytest.raises(AccessError, match="Too many failed sign-ins"):
        auth.sign_in(other, "ana", users["ana"], now=t0 + timedelta(seconds=lock_s))
    assert auth.lock_state(other, "ana") is not None
    other.dispose()
    # Other names are not affected.
    assert auth.sign_in(store, "bo", users["bo"], now=t0 + timedelta(seconds=9)).name == "bo"
    # The lock ends lock_s seconds after the last failure; refused attempts did not extend it.
    assert auth.sign_in(store, "ana", users["ana"], now=t0 + timedelta(seconds=4 + lock_s + 1)).name == "ana"
    with store.session() as s:
        details = [e["detail"] for e in events(s, subject="ana")]
    assert details.count("locked") == 2 and details.count("wrong password") == limit


def test_unknown_names_are_rate_limited_too_and_unlock_clears(store, users):
    t0 = utcnow()
    for i in range(5):
        with pytest.raises(AccessError):
            auth.sign_in(store, "bo", "wrong-password-x", now=t0 + timedelta(seconds=i))
    with pytest.raises(AccessError, match="Too many"):
        auth.sign_in(store, "bo", users["bo"], now=t0 + timedelta(seconds=10))
    auth.unlock(store, "bo", actor="root")
    assert auth.sign_in(store, "bo", users["bo"], now=t0 + timedelta(seconds=11)).name == "bo"
    for i in range(5):
        with pytest.raises(AccessError, match="wrong password|Unknown"):
            auth.sign_in(store, "ghost", f"ghost-pass-{i}", now=t0 + timedelta(seconds=i))
    with pytest.raises(AccessError, match="Too many failed sign-ins for 'ghost'"):
        auth.sign_in(store, "ghost", "ghost-pass-x", now=t0 + timedelta(seconds=6))


def test_success_resets_the_failure_count(store, users):
    t0 = utcnow()
    for round_ in range(2):
        for i in range(4):
            with pytest.raises(AccessError, match="wrong password"):
                auth.sign_in(store, "ana", "wrong-password-y", now=t0 + timedelta(seconds=10 * round_ + i))
        auth.sign_in(store, "ana", users["ana"], now=t0 + timedelta(seconds=10 * round_ + 5))


def test_sso_users_take_their_role_from_the_user_file(store, users):
    file = auth.users_file(store.settings)
    file.add("lead@corp.example", "admin")  # SSO-only: no password
    file.add("dana", "admin", email="Dana.Smith@corp.example")
    settings = store.settings
    assert auth.sso_user(settings, "LEAD@corp.example") == auth.User("lead@corp.example", "admin", "oidc")
    assert auth.sso_user(settings, "dana.smith@corp.example").role == "admin"
    assert auth.sso_user(settings, "new@corp.example") == auth.User("new@corp.example", "analyst", "oidc")
    with pytest.raises(AccessError, match="no email"):
        auth.sso_user(settings, "")
    # An SSO-only entry has no password to sign in with.
    with pytest.raises(AccessError, match="wrong password"):
        auth.sign_in(store, "lead@corp.example", "anything-at-all")


def test_first_admin_is_created_once_with_a_random_password(store):
    settings = store.settings
    password = auth.ensure_first_admin(settings)
    assert password and len(password) >= auth.MIN_PASSWORD
    assert auth.first_admin_pending(settings)
    assert auth.sign_in(store, "admin", password).role == "admin"
    assert auth.ensure_first_admin(settings) is None  # users exist: nothing new
    auth.users_file(settings).set_password("admin", "a-new-admin-password")
    assert not auth.first_admin_pending(settings)


def test_damaged_user_file_is_a_clear_error(store):
    store.settings.users_file.write_text("{not json")
    with pytest.raises(StateError, match="damaged"):
        auth.local_user(store.settings, "ana")
