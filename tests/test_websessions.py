"""Browser sign-in sessions in the store (SQLite and PostgreSQL), their hand-off codes, and the
CLI commands that end them."""

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from rsad.auth import websessions
from rsad.cli.main import main
from rsad.data.orm import WebSession, utcnow

pytestmark = pytest.mark.usefixtures("backend")


def test_a_session_signs_its_user_in_until_it_expires(store):
    now = utcnow()
    ticket = websessions.create(store, "ana", now=now)
    assert ticket.expires_at == now + timedelta(hours=store.settings.session_hours)
    assert websessions.resolve(store, ticket.token, now=now) == "ana"
    assert websessions.resolve(store, ticket.token, now=ticket.expires_at - timedelta(seconds=1)) == "ana"
    assert websessions.resolve(store, ticket.token, now=ticket.expires_at) is None
    assert websessions.resolve(store, ticket.token + "x", now=now) is None
    assert websessions.resolve(store, "", now=now) is None
    with store.session() as s:  # the store keeps only the token's SHA-256
        row = s.scalars(select(WebSession)).one()
        assert row.token_hash == websessions.hash_token(ticket.token) != ticket.token
        assert ticket.token not in (row.token_hash, row.user_name, row.method)


def test_the_session_length_is_a_setting(store, monkeypatch):
    from rsad.service.batches import open_store

    monkeypatch.setenv("RSAD_SESSION_HOURS", "2")
    short = open_store()
    try:
        now = utcnow()
        ticket = websessions.create(short, "ana", now=now)
        assert ticket.expires_at == now + timedelta(hours=2)
        assert websessions.resolve(short, ticket.token, now=now + timedelta(hours=2, seconds=1)) is None
    finally:
        short.dispose()


def test_sign_out_revokes_one_session_and_a_user_all_of_theirs(store):
    ana_1, ana_2, bo = (websessions.create(store, n) for n in ("ana", "ana", "bo"))
    websessions.revoke_hash(store, ana_1.token_hash)
    assert websessions.resolve(store, ana_1.token) is None
    assert websessions.resolve(store, ana_2.token) == "ana"
    assert websessions.revoke_user(store, "ana") == 1  # ana_1 was already revoked
    assert websessions.resolve(store, ana_2.token) is None
    assert websessions.resolve(store, bo.token) == "bo"


@pytest.mark.parametrize("command", [["remove", "ana"], ["passwd", "ana", "--password-stdin"]])
def test_removing_a_user_or_changing_a_password_ends_their_browser_sessions(
        store, users, capsys, monkeypatch, command):
    ana, bo = websessions.create(store, "ana"), websessions.create(store, "bo")
    monkeypatch.setattr("sys.stdin", io.StringIO("ana-brand-new-password\n"))
    assert main(["users", *command]) == 0
    assert "Signed out of 1 browser session." in capsys.readouterr().out
    assert websessions.resolve(store, ana.token) is None
    assert websessions.resolve(store, bo.token) == "bo"


def test_a_hand_off_code_gives_the_token_once_and_only_for_a_minute(store):
    ticket = websessions.create(store, "ana")
    code = websessions.hand_off(ticket, now=1000.0)
    assert ticket.token not in code
    assert websessions.handoff_pending(code, now=1000.0 + websessions.HANDOFF_S - 1)
    token, max_age = websessions.redeem(code, now=1001.0)
    assert token == ticket.token
    assert store.settings.session_hours * 3600 - 60 < max_age <= store.settings.session_hours * 3600
    assert websessions.redeem(code, now=1001.0) is None and not websessions.handoff_pending(code, now=1001.0)
    late = websessions.hand_off(ticket, now=2000.0)
    assert not websessions.handoff_pending(late, now=2000.0 + websessions.HANDOFF_S)
    assert websessions.redeem(late, now=2000.0 + websessions.HANDOFF_S) is None
    assert websessions.redeem("made-up", now=2000.0) is None
