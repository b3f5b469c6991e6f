"""Roles in one place (rsad.auth.policies): every admin action attempted as an analyst is refused by
the rsad function itself, by the CLI (exit 2, nothing changed) and on the pages (disabled with
the reason; a click from a stale page is refused too). Also: the store location is for admins,
and the label export is built on click, for the signed-in user only."""

import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from conftest import sign_in, tiny_table
from rsad.auth import policies
from rsad.auth.audit import events
from rsad.auth.policies import Action
from rsad.auth.users import User, UserFile
from rsad.cli.main import main
from rsad.data import uploads
from rsad.errors import AccessError
from rsad.model import versions
from rsad.ops import lifecycle, scoring
from rsad.review import export
from rsad.service import batches
from rsad.service import thresholds as th
from rsad.training import jobs as retrain

APP = str(Path(__file__).resolve().parents[1] / "app.py")
ANA, ROOT = User("ana", "analyst"), User("root", "admin")
ADMIN_ONLY = [a for a in Action if a.role == "admin"]


def test_admins_may_do_everything_analysts_only_their_own_work():
    assert {a.name for a in ADMIN_ONLY} >= {"START_RETRAINING", "STOP_TRAINING", "PROMOTE", "ROLLBACK", "RESCORE",
                                            "SAVE_THRESHOLD", "SAVE_TEMPERATURE", "DELETE_BATCH", "SEE_STORE_LOCATION"}
    for action in Action:
        assert policies.allowed(ROOT, action) and policies.reason_denied(ROOT, action) is None
        assert policies.authorize(ROOT, action) is ROOT
        assert not policies.allowed(None, action)
    for action in (Action.RECORD_VERDICT, Action.UPLOAD, Action.EXPORT_LABELS):
        assert policies.allowed(ANA, action)
    for action in ADMIN_ONLY:
        assert not policies.allowed(ANA, action)
        with pytest.raises(AccessError, match="needs the admin role, and ana is an analyst"):
            policies.authorize(ANA, action)
    assert policies.reason_denied(ANA, Action.PROMOTE) == (
        "Promoting a version needs the admin role, and ana is an analyst. Ask an admin to do it, or to give "
        "you the role (`rsad users add NAME --role admin`).")
    assert "you are not signed in" in policies.reason_denied(None, Action.EXPORT_LABELS)
    with pytest.raises(TypeError, match="rsad.auth.users.User"):
        policies.authorize("root", Action.PROMOTE)  # an old-style actor string is a bug, not "nobody"


def test_refreshed_reads_the_user_file_now(users, env):
    settings = batches.open_store().settings
    assert policies.refreshed(settings, ANA) == User("ana", "analyst", "password")
    UserFile(env / "users.json").remove("ana")
    assert policies.refreshed(settings, ANA) is None


@pytest.fixture
def admin_work(store_with_model, tiny_model_dir):
    """v1 active, candidate v2, retired v0, a queued job, batches v1 has not scored: an unlabeled
    backlog and the latest, labeled one (comparing versions on the Models page scores that one)."""
    store = store_with_model
    with store.session() as s:
        v1 = versions.get_model_version(s, "v1")
        for name, status in (("v2", "candidate"), ("v0", "retired")):
            v = versions.add_model_version(s, name=name, folder=v1.folder, base_model=v1.base_model,
                                    train_config=v1.train_config, data_hash=v1.data_hash, metrics=v1.metrics,
                                    threshold=0.4, created_by="root")
            v.status = status
    backlog = tiny_table(8).drop(columns=["is_anomaly"])
    backlog["case_id"] = [f"b{i}" for i in range(8)]
    uploads.ingest_file(store, backlog.to_csv(index=False).encode(), file_name="b.csv", name="backlog")
    uploads.ingest_file(store, tiny_table(12).to_csv(index=False).encode(), file_name="m.csv", name="morning")
    job = retrain.start(store, retrain.RetrainParams(epochs=1), user=ROOT, spawn=False)
    return store, job


def snapshot(store, job_id: int) -> tuple:
    """Everything an admin action would change."""
    by_name = {v.name: (v.status, v.threshold, v.temperature) for v in versions.list_versions(store)}
    job = retrain.get(store, job_id)
    with store.session() as s:
        audit = len(events(s))
    return (by_name, scoring.rescore_status(store), lifecycle.history(store), job["status"], job["log"],
            len(retrain.recent(store)), batches.overview(store)["totals"], th.history(store), audit)


def test_every_admin_function_refuses_an_analyst_and_changes_nothing(admin_work):
    store, job = admin_work
    before = snapshot(store, job["id"])
    attempts = {
        "promote": lambda u: lifecycle.promote(store, "v2", user=u, reason="r"),
        "lifecycle.promote": lambda u: lifecycle.promote(store, "v2", user=u, reason="r"),
        "rollback": lambda u: lifecycle.rollback(store, "v0", user=u, reason="r"),
        "rescore": lambda u: scoring.rescore(store, user=u),
        "start": lambda u: retrain.start(store, retrain.RetrainParams(epochs=1), user=u, spawn=False),
        "stop": lambda u: retrain.stop(store, job["id"], user=u),
        "save threshold": lambda u: th.save(store, None, 0.9, user=u, reason="r"),
        "save temperature": lambda u: th.save_temperature(store, None, 2.0, user=u),
        "delete batch": lambda u: batches.delete_batch(store, "morning", user=u),
    }
    for what, attempt in attempts.items():
        for user in (ANA, None):
            with pytest.raises(AccessError, match="needs the admin role"):
                attempt(user)
            assert snapshot(store, job["id"]) == before, what
    # The same calls as an admin do change things (so the snapshot above could have seen it).
    th.save(store, None, 0.9, user=ROOT, reason="r")
    assert th.history(store)[0]["who"] == "root"
    lifecycle.promote(store, "v2", user=ROOT, reason="r")
    assert lifecycle.history(store)[0]["by"] == "root" and snapshot(store, job["id"]) != before


def cli(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_cli_refuses_an_analysts_admin_commands_with_exit_2(admin_work, users, capsys, monkeypatch, tmp_path):
    store, job = admin_work
    before = snapshot(store, job["id"])
    data = tmp_path / "labeled.csv"
    tiny_table(16).to_csv(data, index=False)
    commands = [
        ["promote", "v2", "--reason", "r"], ["rollback", "v0", "--reason", "r"], ["rescore"],
        ["jobs", "stop", str(job["id"])], ["train", "--from-store"], ["train", "--data", str(data)],
        ["thresholds", "--save"], ["delete-batch", "morning", "--yes"], ["users", "remove", "bo"],
        ["users", "add", "eve", "--role", "admin", "--sso"], ["users", "unlock", "bo"],
    ]
    monkeypatch.setenv("RSAD_USER", "ana")
    for command in commands:
        code, out, err = cli(capsys, *command)
        assert code == 2 and err.startswith("rsad: error: ") and err.strip().count("\n") == 0, (command, err)
        assert "needs the admin role, and ana is an analyst" in err, (command, err)
        assert snapshot(store, job["id"]) == before, command
    assert set(UserFile(store.settings.users_file).load()) == {"ana", "bo", "root"}
    monkeypatch.delenv("RSAD_USER")
    code, _, err = cli(capsys, "--as", "ana", "promote", "v2", "--reason", "r", "--no-rescore")  # --as: the same
    assert code == 2 and "ana is an analyst" in err and snapshot(store, job["id"]) == before
    code, _, err = cli(capsys, "--as", "nobody", "rescore")
    assert code == 2 and "No user 'nobody' to act as" in err
    # An analyst's own work goes through; who acts is recorded.
    assert cli(capsys, "--as", "ana", "export-labels", str(tmp_path / "l.csv"))[0] == 0
    assert cli(capsys, "--as", "root", "promote", "v2", "--reason", "r", "--no-rescore")[0] == 0
    assert lifecycle.history(store)[0]["by"] == "root"
    # Without --as or RSAD_USER: the shell's admin, cli:<login>.
    assert cli(capsys, "rollback", "v1", "--reason", "back", "--no-rescore")[0] == 0
    assert lifecycle.history(store)[0]["by"].startswith("cli:")


def page(name: str, view: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    sign_in(at, name)
    at.switch_page(view).run()
    assert not at.exception, at.exception
    return at


def test_an_analyst_sees_admin_actions_disabled_with_the_reason(admin_work, users):
    store, job = admin_work
    at = page("ana", "views/models.py")
    assert not at.error, [e.value for e in at.error]
    before = snapshot(store, job["id"])  # after the first run: comparing versions may score cases
    reasons = {"stop_job": "Stopping a training job", "rt_submit": "Starting a retraining job",
               "promote_submit": "Promoting a version", "rollback_submit": "Rolling back to a version",
               "rescore_button": "Rescoring the store"}
    for key, doing in reasons.items():
        button = at.button(key=key)
        assert button.disabled and button.help.startswith(f"{doing} needs the admin role"), key
        assert any(doing in c.value and "ana is an analyst" in c.value for c in at.caption), key
    # A click that still arrives (a tab left open, a forged message): Streamlit 1.67 drops a
    # disabled widget's value on the server, so the page never calls rsad; nothing changes.
    for key in reasons:
        button = at.button(key=key)
        button.proto.disabled = False
        button.click().run()
        assert not at.exception and at.button(key=key).disabled, key
        assert snapshot(store, job["id"]) == before, key


def test_a_page_rendered_for_an_admin_is_refused_once_they_are_an_analyst(admin_work, users):
    store, job = admin_work
    at = page("root", "views/models.py")
    assert not [k for k in ("stop_job", "promote_submit", "rollback_submit", "rescore_button")
                if at.button(key=k).disabled]
    before = snapshot(store, job["id"])
    with UserFile(store.settings.users_file)._edit() as users_now:  # demoted while the page is open
        users_now["root"]["role"] = "analyst"
    at.text_input(key="promote_reason").input("stale page")
    at.button(key="promote_submit").click().run()
    assert not at.exception and snapshot(store, job["id"]) == before
    assert at.button(key="promote_submit").disabled and "root is an analyst" in at.button(key="promote_submit").help


def test_delete_batch_is_disabled_for_an_analyst(admin_work, users):
    store, job = admin_work
    at = page("ana", "views/overview.py")
    button = at.button(key="delete_batch_button")
    assert button.disabled and button.help.startswith("Deleting a batch needs the admin role")
    assert at.selectbox(key="delete_batch_name").disabled
    button.proto.disabled = False  # a forged click: dropped by Streamlit, and batches.delete_batch refuses ana
    button.click().run()
    assert not at.exception and at.button(key="delete_batch_button").disabled
    assert batches.overview(store)["totals"]["batches"] == 2


def test_the_store_location_is_for_admins_only(store_with_model, users):
    location = store_with_model.location
    for name, shown in (("ana", False), ("root", True)):
        at = page(name, "views/overview.py")
        captions = [c.value for c in at.sidebar.caption if c.value.startswith("Device:")]
        assert len(captions) == 1 and (location in captions[0]) is shown and ("Store:" in captions[0]) is shown


def test_the_label_export_is_built_on_click_for_the_signed_in_user(store_with_model, users, env, monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.runtime.media_file_storage import MediaFileStorageError

    made = []  # every media file manager the AppTest runs create, to look inside after a run

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MediaFileManager", Recording)
    uploads.ingest_file(store_with_model, tiny_table(6).to_csv(index=False).encode(), file_name="x.csv", name="x")
    at = page("ana", "views/labels.py")
    csv, parquet = at.download_button(key="export_csv"), at.download_button(key="export_parquet")
    # Nothing is served before the click: no URL, only a deferred id; no stored file holds the labels.
    assert csv.proto.url == "" and csv.proto.deferred_file_id and parquet.proto.deferred_file_id
    mgr = made[-1]
    stored = [f.content for f in mgr._storage._files_by_id.values()]
    assert not [c for c in stored if b"behavior_description" in c]
    # The click (Streamlit's download thread, no page context) builds the file for ana.
    mgr.execute_deferred(csv.proto.deferred_file_id)
    built = [f.content for f in mgr._storage._files_by_id.values() if b"behavior_description" in f.content]
    assert len(built) == 1 and len(pd.read_csv(io.BytesIO(built[0]))) == 6
    mgr.execute_deferred(parquet.proto.deferred_file_id)
    # Removed from the user file after the page rendered: the click builds nothing.
    UserFile(env / "users.json").remove("ana")
    with pytest.raises(MediaFileStorageError, match="needs the analyst role; you are not signed in"):
        mgr.execute_deferred(csv.proto.deferred_file_id)
    with pytest.raises(AccessError):
        export.labels_bytes(store_with_model, "csv", user=None)
