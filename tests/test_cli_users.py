"""`rsad users ...` and `rsad delete-batch` in-process (tests/test_cli.py runs the CLI as a subprocess)."""

import io
import json

import pytest

from conftest import tiny_table
from rsad.auth import users as auth
from rsad.cli.main import main
from rsad.errors import AccessError


def run(capsys, monkeypatch, *args, stdin=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_users_add_list_passwd_unlock_remove(store, capsys, monkeypatch):
    assert run(capsys, monkeypatch, "users", "add", "Lead", "--role", "admin", "--password-stdin",
               stdin="lead-password-1\n")[0] == 0
    assert run(capsys, monkeypatch, "users", "add", "ana", "--role", "analyst", "--password-stdin",
               stdin="ana-password-1\n")[0] == 0
    code, out, _ = run(capsys, monkeypatch, "users", "add", "sso@corp.example", "--role", "admin", "--sso")
    assert code == 0 and "single sign-on" in out
    users = json.loads(store.settings.users_file.read_text())["users"]
    assert {n: u["role"] for n, u in users.items()} == {"lead": "admin", "ana": "analyst", "sso@corp.example": "admin"}
    assert users["ana"]["hash"].startswith("$argon2id$") and "ana-password-1" not in json.dumps(users)
    listed = run(capsys, monkeypatch, "users", "list")[1]
    assert [line.split()[:3] for line in listed.splitlines()[1:]] == [
        ["ana", "analyst", "password"], ["lead", "admin", "password"], ["sso@corp.example", "admin", "sso"]]

    assert auth.sign_in(store, "ana", "ana-password-1").role == "analyst"
    for i in range(5):
        with pytest.raises(AccessError, match="wrong password"):
            auth.sign_in(store, "ana", f"wrong-password-{i}")
    assert "locked until" in run(capsys, monkeypatch, "users", "list")[1]
    assert run(capsys, monkeypatch, "users", "unlock", "ana")[0] == 0
    assert "locked" not in run(capsys, monkeypatch, "users", "list")[1]
    assert run(capsys, monkeypatch, "users", "passwd", "ana", "--password-stdin", stdin="ana-new-password\n")[0] == 0
    assert auth.sign_in(store, "ana", "ana-new-password").name == "ana"
    assert run(capsys, monkeypatch, "users", "remove", "ana")[0] == 0
    assert "ana " not in run(capsys, monkeypatch, "users", "list")[1]


@pytest.mark.parametrize("args, stdin, message", [
    (["users", "add", "x", "--role", "admin", "--password-stdin"], "short\n", "at least 10 characters"),
    (["users", "add", "x", "--role", "admin", "--password-stdin"], "", "No password on standard input"),
    (["users", "add", "x", "--role", "admin", "--sso"], None, "needs an email"),
    (["users", "add", "bad name!", "--role", "admin", "--password-stdin"], "long-enough-pw\n", "User name"),
    (["users", "remove", "nobody"], None, "No user 'nobody'"),
    (["users", "passwd", "nobody", "--password-stdin"], "long-enough-pw\n", "No user 'nobody'"),
    (["delete-batch", "nope", "--yes"], None, "No batch 'nope'"),
    (["delete-batch", "nope"], None, "add --yes to confirm"),
])
def test_errors_are_one_line(store, capsys, monkeypatch, args, stdin, message):
    code, _, err = run(capsys, monkeypatch, *args, stdin=stdin)
    assert code == 2 and message in err and err.strip().count("\n") == 0


def test_last_admin_stays_and_delete_batch(store, capsys, monkeypatch, tmp_path):
    run(capsys, monkeypatch, "users", "add", "root", "--role", "admin", "--password-stdin", stdin="root-password-1\n")
    code, _, err = run(capsys, monkeypatch, "users", "remove", "root")
    assert code == 2 and "last admin" in err
    data = tmp_path / "d.csv"
    tiny_table(8).to_csv(data, index=False)
    assert run(capsys, monkeypatch, "ingest", str(data), "--name", "gone")[0] == 0
    code, out, _ = run(capsys, monkeypatch, "delete-batch", "gone", "--yes")
    assert code == 0 and "Deleted batch 'gone': 8 cases, 0 verdicts" in out
    assert "No batches in project 'default' yet" in run(capsys, monkeypatch, "batches")[1]
