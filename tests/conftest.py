"""Shared fixtures: a temporary store per test, and one tiny fine-tuned model per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="Debian's chromium is not installed (apt-get install chromium)")

# Easy to separate on purpose: the tiny model must learn *something* in a few steps.
SPAM = [
    "check out my channel and subscribe http://spam.example/{i} for free gift cards",
    "buy 5 star reviews cheap, visit www.fakeshop{i}.com now, limited offer",
    "account placed {i} orders in 3 minutes from 12 devices, all on the same item",
    "rated the same item 5 stars {i} times in one burst at night, no browsing before",
]
NORMAL = [
    "watched {i} episodes of a cooking show over the weekend and liked two of them",
    "bought a kettle after comparing {i} models, left a review about the lid being loose",
    "browsed music playlists for {i} minutes in the evening and followed one artist",
    "added running shoes to the cart, ordered them {i} days later during the sale",
]


def tiny_table(n: int = 64) -> pd.DataFrame:
    """n rows in the batch schema, half anomalous, deterministic."""
    rows = []
    for i in range(n):
        pool, label = (SPAM, 1) if i % 2 else (NORMAL, 0)
        rows.append({"case_id": f"c{i:03d}", "behavior_description": pool[i % 4].format(i=i),
                     "is_anomaly": label, "platform": ["shop", "video"][i % 2 == 0]})
    return pd.DataFrame(rows)


# --- Test categories -------------------------------------------------------------------------
# Every test gets exactly one of these markers (registered in pyproject.toml), so a run can pick
# what the machine can do: `pytest -m unit` is the fast loop (no model, browser or PostgreSQL).
# The category follows from what a test uses, so a new test is sorted without being touched:
#   browser  its file is tests/test_*browser*.py, or it uses a real app server (BROWSER_FIXTURES)
#   pg       it runs against PostgreSQL: the "postgresql" case of `backend`, or `pg_url`
#   model    it uses the tiny fine-tuned model (MODEL_FIXTURES, directly or through another
#            fixture), is marked `slow` (fine-tunes one), or is listed in MODEL_TESTS (needs
#            or loads a model otherwise) or SLOW_WITHOUT_A_MODEL (too slow for `-m unit`)
#   unit     everything else
# The first that applies wins, in that order. A test may also carry one of the four markers
# itself (`@pytest.mark.model`); that one is kept. Two explicit ones are a collection error.
CATEGORIES = ("unit", "model", "browser", "pg")
BROWSER_FIXTURES = {"server", "streamlit_server", "page", "browser"}
PG_FIXTURES = {"pg_url"}
MODEL_FIXTURES = {"tiny_model_dir", "store_with_model", "blend_model_dir"}
# Tests that need a real model without asking for a model fixture, or are slow because of one:
# "file.py::test_name" (every parametrization) or "file.py::test_name[part of the param id]".
MODEL_TESTS = {
    "test_demo.py::test_bootstrap_builds_then_reuses",  # fine-tunes the embedded base model
    "test_retrain.py::test_killed_job_leaves_no_version_and_is_marked_failed",  # a real training process
    # `rsad jobs` and `rsad evaluate` import torch and transformers (3-5 s a process on 2 cores)
    "test_retrain.py::test_cli_jobs_lists_a_stopped_job_as_stopped",
    "test_cli.py::test_errors_are_one_line_and_exit_2[No training job]",
    "test_cli.py::test_errors_are_one_line_and_exit_2[no active model]",
}
# Too slow for the unit loop for another reason: they start real processes (a CLI per call at
# 1-3 s each, a Streamlit server, four writers at once, processes killed mid-write), run the
# Upload page once per bad file, or make the full demo data. They need nothing a model run
# lacks, so they are classed `model`: `-m "unit or model"` still runs everything that needs no
# browser and no PostgreSQL.
SLOW_WITHOUT_A_MODEL = {
    "test_hf_imports.py::test_threads_importing_transformers_at_once_all_get_their_classes",  # two fresh processes
    "test_cli.py::test_help_is_fast_and_lists_every_command",
    "test_cli.py::test_errors_are_one_line_and_exit_2",
    "test_cli.py::test_ingest_models_batches_db_upgrade",
    "test_cli.py::test_ingest_events_describes_each_user",
    "test_cli.py::test_users_add_and_list_in_a_subprocess",
    "test_bad_inputs.py::test_cli_refuses_in_a_real_process",
    "test_bad_inputs.py::test_upload_page_refuses_and_writes_nothing",
    "test_concurrency.py::test_four_analysts_write_500_verdicts_each_at_once",
    "test_crashes.py::test_kill_during_ingest_leaves_no_partial_batch",
    "test_crashes.py::test_kill_during_promotion_keeps_exactly_one_active_version",
    "test_server.py::test_streamlit_serves_the_app",
    "test_server.py::test_streamlit_run_serve_py_serves_the_app_and_the_cookie_routes",
    # the full-size demo tables (3,500 users, ~8 s to make once)
    "test_synth.py::test_demo_sizes_and_rates",
    "test_synth.py::test_demo_columns_do_not_leak_labels",
    "test_synth.py::test_demo_covers_every_persona",
    "test_synth.py::test_demo_ids_do_not_collide",
    "test_synth.py::test_demo_is_not_trivially_separable",
}


def _listed(item: pytest.Item, names: set[str]) -> bool:
    base = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
    callspec = getattr(item, "callspec", None)
    for entry in names:
        name, _, part = entry.partition("[")
        if name == base and (not part or (callspec is not None and part.rstrip("]") in callspec.id)):
            return True
    return False


def category_of(item: pytest.Item) -> str:
    """The one category of a collected test (see above)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec is not None else {}
    if "browser" in item.path.name or fixtures & BROWSER_FIXTURES:
        return "browser"
    if params.get("backend") == "postgresql" or fixtures & PG_FIXTURES:
        return "pg"
    if fixtures & MODEL_FIXTURES or item.get_closest_marker("slow") or _listed(item, MODEL_TESTS):
        return "model"
    if _listed(item, SLOW_WITHOUT_A_MODEL):
        return "model"
    return "unit"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import warnings

    modules = {item.path.name: item.module for item in items if getattr(item, "module", None) is not None}
    for entry in sorted(MODEL_TESTS | SLOW_WITHOUT_A_MODEL):
        file, _, test = entry.partition("[")[0].partition("::")
        if file in modules and not hasattr(modules[file], test):
            warnings.warn(pytest.PytestWarning(f"tests/conftest.py names {file}::{test}, which no longer exists: "
                                               "update MODEL_TESTS / SLOW_WITHOUT_A_MODEL"), stacklevel=2)
    for item in items:
        explicit = [c for c in CATEGORIES if item.get_closest_marker(c)]
        if len(explicit) > 1:
            raise pytest.UsageError(f"{item.nodeid} is marked {' and '.join(explicit)}: one category only")
        if not explicit:
            item.add_marker(category_of(item))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every RSAD_* setting at a fresh temporary folder."""
    monkeypatch.setenv("RSAD_DB_URL", f"sqlite:///{tmp_path / 'rsad.sqlite3'}")
    monkeypatch.setenv("RSAD_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("RSAD_BOOTSTRAP", "0")
    monkeypatch.setenv("RSAD_DEVICE", "cpu")
    # No attribution threads behind the tests' backs (they would outlive a test's store);
    # tests of those features switch them on and wait for them.
    monkeypatch.setenv("RSAD_EXPLAIN_TOP", "0")
    monkeypatch.setenv("RSAD_EXPLAIN_AHEAD", "0")
    monkeypatch.setenv("RSAD_EXPLAIN_FIRST", "0")
    monkeypatch.setenv("RSAD_DEMO_CANDIDATE", "0")  # no detached fine-tune process after a test's demo
    monkeypatch.setenv("RSAD_USERS_FILE", str(tmp_path / "users.json"))
    # An in-process `rsad --project X ...` leaves X for later commands of this process; not across tests.
    monkeypatch.setattr("rsad.cli.common._project", None)
    # Real argon2id at a test-sized cost: the default profile (64 MiB, 3 passes) takes ~0.7 s per
    # hash on 2 busy cores. A hash records its own parameters, so verifying stays correct.
    from argon2 import PasswordHasher

    monkeypatch.setattr("rsad.auth.users._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    return tmp_path


# Known sign-ins for the page tests (the user file lives in the test's temporary folder).
PASSWORDS = {"ana": "ana-password-1", "bo": "bo-password-22", "root": "root-password-333"}


def browser_sign_in(page, name: str) -> None:  # noqa: ANN001
    """Sign in through the sign-in screen in a real browser (see ``users`` for the passwords)."""
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[name])
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def users(env: Path) -> dict[str, str]:
    """Analysts ana and bo and the admin root in a temporary user file; returns their passwords."""
    from rsad.auth.users import UserFile

    file = UserFile(env / "users.json")
    for name, role in (("ana", "analyst"), ("bo", "analyst"), ("root", "admin")):
        file.add(name, role, PASSWORDS[name])
    return dict(PASSWORDS)


def sign_in(at, name: str, password: str | None = None):  # noqa: ANN001, ANN201
    """Sign in through the real form of the sign-in screen (an AppTest that has run once)."""
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(PASSWORDS.get(name, "") if password is None else password)
    return at.button(key="login_submit").click().run()


PG_URL = os.environ.get("RSAD_TEST_PG_URL", "")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards.

    RSAD_TEST_PG_URL names the server and a user allowed to create databases
    (`.ci/start_postgres` starts one and prints its URL).
    """
    if not PG_URL:
        pytest.skip("RSAD_TEST_PG_URL is not set: no PostgreSQL server to test against "
                    "(.ci/start_postgres starts one and prints the URL to set)")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"rsad_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        import time

        from sqlalchemy.exc import DBAPIError

        # FORCE ends the test's own leftover sessions; an autovacuum worker that started on the
        # new tables belongs to the server, which this user may not end: wait for it to finish.
        for attempt in range(20):
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                break
            except DBAPIError:
                if attempt == 19:
                    raise
                time.sleep(0.5)
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on SQLite and again on PostgreSQL (skipped without RSAD_TEST_PG_URL).

    Use it before ``store`` (``pytest.mark.usefixtures("backend")``): it sets RSAD_DB_URL.
    """
    if request.param == "postgresql":
        monkeypatch.setenv("RSAD_DB_URL", request.getfixturevalue("pg_url"))
    return request.param


@pytest.fixture
def store(env: Path):
    from rsad.service.batches import open_store

    s = open_store()
    yield s
    s.dispose()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MiniLM fine-tuned for a few steps on 64 rows, saved as a version folder."""
    from rsad.config import embedded_base_model
    from rsad.model.card import TrainConfig
    from rsad.model.registry import save_version
    from rsad.training.fine_tune import fine_tune

    df = tiny_table(64)
    table = pd.DataFrame({"id": df["case_id"], "text": df["behavior_description"], "label": df["is_anomaly"]})
    config = TrainConfig(base_model=embedded_base_model(), epochs=2, batch_size=16, max_length=48,
                         learning_rate=1e-4, val_fraction=0.25, early_stopping_patience=0, min_steps=0,
                         lexical_blend=False)  # the transformer alone, as every version before 0021
    result = fine_tune(table, config, device="cpu")
    folder, _card = save_version(result, tmp_path_factory.mktemp("models"), "v1")
    return folder


@pytest.fixture(scope="session")
def blend_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same tiny model with the bag of words blended in (validation kept it)."""
    from rsad.config import embedded_base_model
    from rsad.model.card import TrainConfig
    from rsad.model.registry import save_version
    from rsad.training.fine_tune import fine_tune

    df = tiny_table(64)
    table = pd.DataFrame({"id": df["case_id"], "text": df["behavior_description"], "label": df["is_anomaly"]})
    config = TrainConfig(base_model=embedded_base_model(), epochs=2, batch_size=16, max_length=48,
                         learning_rate=1e-4, val_fraction=0.25, early_stopping_patience=0, min_steps=0)
    result = fine_tune(table, config, device="cpu")
    assert result.lexical is not None and result.metrics["blend"]["kept"], result.metrics["blend"]
    folder, _card = save_version(result, tmp_path_factory.mktemp("models"), "v1")
    return folder


@pytest.fixture
def store_with_model(store, tiny_model_dir: Path):
    """A store whose active version is the session's tiny model."""
    from rsad.model import versions
    from rsad.model.card import read_card

    card = read_card(tiny_model_dir)
    with store.session() as s:
        versions.add_model_version(s, name="v1", folder=str(tiny_model_dir), base_model=card.base_model,
                            train_config=card.train_config, data_hash=card.data_hash,
                            metrics={**card.metrics, "n_train": len(card.train_ids),
                                     "n_val": len(card.val_ids), "train_seconds": card.train_seconds},
                            threshold=card.threshold, created_by="test")
    return store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """`streamlit run serve.py` (the README's command) on one port, on the test's store and user
    file; restart() stops it and starts a new process on the same port (a server restart)."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                cwd=ROOT, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.log_path.read_text()) from None
                time.sleep(0.5)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:  # a loaded CI machine: do not fail the test on teardown
            self.proc.kill()
            self.proc.wait(30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def streamlit_server(store_with_model, users, env) -> Iterator[StreamlitServer]:
    """The app's real entry point on a free localhost port (see StreamlitServer)."""
    server = StreamlitServer(env / "streamlit.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(streamlit_server: StreamlitServer) -> str:
    """The URL of `streamlit run serve.py` on the test's store and user file."""
    return streamlit_server.url


@contextmanager
def chromium_page():  # noqa: ANN201 - playwright is imported lazily
    """A page in Debian's headless Chromium (never `playwright install`), and the dialogs it opened."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)  # the first run imports torch: allow for a slow CI machine
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            yield page, dialogs
        finally:
            browser.close()
