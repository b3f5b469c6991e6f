"""The app served for a walk in Chromium: `streamlit run serve.py` on a port, with the given
environment, until the block ends; a walk's store environment, its admin and its sign-in
(bench/zh_walk.py, bench/loop_walk.py, bench/investigate_walk.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def served(env: dict[str, str], port: int) -> Iterator[None]:
    """Start the server, wait until its health check answers (up to a minute), stop it afterwards."""
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "serve.py"), "--server.port",
                               str(port), "--server.headless", "true"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _i in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        yield
    finally:
        server.terminate()
        server.wait(30)


def walk_env(folder: Path) -> dict[str, str]:
    """The environment of a walk on the store in ``folder`` (no demo built by the server; the
    language the walker last chose, not the shell's)."""
    env = {**os.environ, "RSAD_DB_URL": f"sqlite:///{folder}/rsad.sqlite3", "RSAD_MODELS_DIR": str(folder / "models"),
           "RSAD_USERS_FILE": str(folder / "users.json"), "RSAD_BOOTSTRAP": "0"}
    env.pop("RSAD_LANG", None)
    return env


def add_admin(env: dict[str, str], name: str, password: str) -> None:
    """The walker as an admin (a rerun finds it there already: the error is ignored)."""
    subprocess.run([sys.executable, "-m", "rsad.cli", "users", "add", name, "--role", "admin", "--password-stdin"],
                   env=env, input=password + "\n", text=True, capture_output=True)


def sign_in(page: Any, port: int, name: str, password: str) -> None:
    """Sign in and switch to English: the language is remembered per user, so a rerun of a walk
    signs in wherever the last one ended."""
    from playwright.sync_api import expect

    page.goto(f"http://127.0.0.1:{port}")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("^(Overview|概览)$"))).to_be_visible()
    page.get_by_role("combobox", name=re.compile("Language")).click()
    page.get_by_role("option", name="English").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
