"""The app served for a walk in Chromium: `streamlit run serve.py` on a port, with the given
environment, until the block ends (bench/zh_walk.py, bench/loop_walk.py)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
