"""The CLI in a real subprocess: one-line errors with exit code 2, never a traceback."""

import os
import subprocess
import sys
import time

import pytest

from conftest import tiny_table


def rsad(env_dir, *args, timeout=300, stdin=None):
    env = {**os.environ, "RSAD_DB_URL": f"sqlite:///{env_dir / 'rsad.sqlite3'}",
           "RSAD_MODELS_DIR": str(env_dir / "models"), "HF_HUB_OFFLINE": "1", "RSAD_DEVICE": "cpu",
           "RSAD_USERS_FILE": str(env_dir / "users.json")}
    return subprocess.run([sys.executable, "-m", "rsad.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, input=stdin)


def test_help_is_fast_and_lists_every_command(tmp_path):
    started = time.monotonic()
    out = rsad(tmp_path, "--help")
    assert out.returncode == 0
    for command in ["demo", "ingest", "score", "train", "evaluate", "export-labels", "models", "promote", "db",
                    "users", "delete-batch", "compare", "rollback", "rescore", "jobs", "thresholds", "audit", "next",
                    "cases", "similar"]:
        assert command in out.stdout
    # Heavy imports stay lazy: help must not import torch or transformers.
    probe = subprocess.run([sys.executable, "-c", "import sys, rsad.cli.main; rsad.cli.main.build_parser();"
                            "print('torch' in sys.modules or 'transformers' in sys.modules)"],
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "False"
    assert time.monotonic() - started < 60


def test_train_help_states_the_training_defaults():
    import argparse
    import re

    from rsad.cli.main import build_parser
    from rsad.model.card import TrainConfig

    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    text = " ".join(subcommands.choices["train"].format_help().split())
    assert f"default: {TrainConfig.epochs} from a file" in text
    assert float(re.search(r"learning rate \(default ([0-9.e-]+)\)", text).group(1)) == TrainConfig.learning_rate


@pytest.mark.parametrize("args, message", [
    (["ingest", "missing.csv"], "No such file"),
    (["score", "nope"], "No batch 'nope'"),
    (["promote", "v7"], "No model version 'v7'"),
    (["rollback", "v7", "--reason", "bad alerts"], "No model version 'v7'"),
    (["compare", "v7"], "No model version 'v7'"),
    (["jobs", "run", "5"], "No training job 5"),
    (["evaluate", "--data", "DATA"], "no active model"),
    (["train"], "exactly one of --data FILE or --from-store"),
    (["train", "--from-store"], "no labeled cases"),
])
def test_errors_are_one_line_and_exit_2(tmp_path, args, message):
    data = tmp_path / "d.csv"
    tiny_table(8).to_csv(data, index=False)
    out = rsad(tmp_path, *[str(data) if a == "DATA" else a for a in args])
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0


def test_ingest_models_batches_db_upgrade(tmp_path):
    data = tmp_path / "d.csv"
    tiny_table(8).to_csv(data, index=False)
    from alembic.script import ScriptDirectory

    from rsad.data.db import MIGRATIONS_DIR

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert f"revision {head} " in rsad(tmp_path, "db", "upgrade").stdout
    out = rsad(tmp_path, "ingest", str(data), "--name", "first")
    assert out.returncode == 0 and "8 cases, 8 labeled" in out.stdout
    bad = rsad(tmp_path, "ingest", str(data), "--name", "first")
    assert bad.returncode == 2 and "already exists" in bad.stderr
    assert "first" in rsad(tmp_path, "batches").stdout
    assert "No model versions yet" in rsad(tmp_path, "models").stdout
    out = rsad(tmp_path, "export-labels", str(tmp_path / "labels.parquet"))
    assert out.returncode == 0 and "8 labels" in out.stdout


def test_ingest_events_describes_each_user(tmp_path):
    from rsad.data.synth import make_events

    events, users = make_events(12, anomaly_rate=0.25, seed=3)
    path = tmp_path / "events.csv"
    events.to_csv(path, index=False)
    out = rsad(tmp_path, "ingest", str(path), "--events", "--name", "logs")
    assert out.returncode == 0, out.stderr
    assert f"{users['user_id'].nunique()} cases" in out.stdout
    broken = tmp_path / "broken.csv"
    events.drop(columns=["timestamp"]).to_csv(broken, index=False)
    bad = rsad(tmp_path, "ingest", str(broken), "--events")
    assert bad.returncode == 2 and "timestamp" in bad.stderr



def test_users_add_and_list_in_a_subprocess(tmp_path):
    out = rsad(tmp_path, "users", "add", "Lead", "--role", "admin", "--password-stdin", stdin="lead-password-1\n")
    assert out.returncode == 0, out.stderr
    assert "Added admin 'lead' (a password)" in out.stdout
    listed = rsad(tmp_path, "users", "list")
    assert listed.returncode == 0 and listed.stdout.splitlines()[1].split() == ["lead", "admin", "password", "-", "ok"]
    bad = rsad(tmp_path, "users", "add", "x", "--role", "admin", stdin="")
    assert bad.returncode == 2 and "pipe the password in with --password-stdin" in bad.stderr
    assert "Traceback" not in bad.stderr and bad.stderr.strip().count("\n") == 0


def test_the_cli_speaks_the_language_rsad_lang_names(tmp_path, monkeypatch):
    monkeypatch.setenv("RSAD_LANG", "zh")
    out = rsad(tmp_path, "batches")
    assert out.returncode == 0, out.stderr
    assert "项目 'default' 还没有批次" in out.stdout and "`rsad ingest FILE`" in out.stdout  # commands verbatim
    bad = rsad(tmp_path, "delete-batch", "old")
    assert bad.returncode == 2 and bad.stderr.startswith("rsad: 错误：") and "--yes" in bad.stderr
    assert "RSAD_LANG" in rsad(tmp_path, "--help").stdout  # the help says how (its text stays English)
