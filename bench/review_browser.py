"""Review page at scale in a real browser: Debian's Chromium via Playwright against `streamlit run`.

Builds one N-case store (see bench/review.py), then for this tree (and ``--baseline DIR``)
starts a Streamlit server on it and measures, in the browser: opening the Review page until
the case heading shows, and pressing "Anomaly" until the next case shows (median), plus the
server's RSS afterwards. Run it at two sizes to see whether server memory follows batch size.
With ``--uncached`` no attributions are cached first: the page and its explain-ahead job compute
them while the analyst works (the memory test of attribution passes); ``--idle S`` reads the
server's RSS again after S idle seconds.

    python bench/review_browser.py --n 100000 --baseline /tmp/base
    python bench/review_browser.py --n 10000
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-password-1"


def serve(code: Path):  # noqa: ANN201
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(code / "app.py"), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=code, env={**os.environ, "PYTHONPATH": str(code)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit in {code} did not start") from None
            time.sleep(0.5)


# The page is done when the case heading reads `heading`, its attributions are drawn, and no
# element is left stale from the previous run (Streamlit marks those until the run ends).
DONE = """heading => [...document.querySelectorAll('h3')].some(h => h.textContent.includes(heading))
    && document.querySelector('.rsad-explanation') !== null
    && document.querySelector('[data-stale="true"]') === null"""


def shown(page, heading: str) -> None:  # noqa: ANN001
    # Checked on every animation frame (~16 ms), not at a polling interval, and only once the
    # whole run is drawn: a heading alone can show while the rest of the page is still stale.
    page.wait_for_function(DONE, arg=heading, polling="raf", timeout=600_000)


def measure(url: str, n: int, repeats: int) -> dict:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        expect.set_options(timeout=600_000)
        page.goto(url)  # sign-in, then the Overview page: imports, store, sidebar (not timed)
        overview = page.get_by_role("heading", name="Overview")
        login = page.get_by_label("User name")
        expect(login.or_(page.get_by_label("Analyst", exact=True))).to_be_visible()
        if login.is_visible():
            login.fill("bench")
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(overview).to_be_visible()
        else:  # a tree from before sign-in: the analyst types a name
            analyst = page.get_by_label("Analyst", exact=True)
            analyst.fill("bench")
            analyst.press("Enter")
        t0 = time.perf_counter()
        page.get_by_role("link", name="Review").click()
        shown(page, f"1 of {n:,}")
        first = time.perf_counter() - t0
        nexts = []
        for i in range(1, repeats + 1):
            t0 = time.perf_counter()
            page.locator(".st-key-verdict_anomaly button").click()
            # An unreviewed queue drops the decided case: the count shrinks, position stays 1.
            shown(page, f"1 of {n - i:,}")
            nexts.append(time.perf_counter() - t0)
        browser.close()
    return {"first": first, "next": statistics.median(nexts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--uncached", action="store_true", help="no attributions cached beforehand")
    parser.add_argument("--idle", type=float, default=0.0, help="seconds to wait before reading RSS again")
    args = parser.parse_args()
    import psutil
    from review import build_store

    trees = ([("baseline", args.baseline.resolve())] if args.baseline else []) + [("this tree", ROOT)]
    build_store(args.n, 0 if args.uncached else args.repeats * len(trees) + 10)
    from rsad.auth import users as auth
    from rsad.config import get_settings

    auth.users_file(get_settings()).add("bench", "analyst", PASSWORD)  # build_store set RSAD_USERS_FILE
    print(f"{args.n:,}-case batch; Chromium {CHROMIUM}; load average {os.getloadavg()[0]:.2f}")
    for name, code in trees:
        proc, url = serve(code)
        try:
            res = measure(url, args.n, args.repeats)
            args.n -= args.repeats  # the next tree starts from a queue these verdicts shortened
            server = psutil.Process(proc.pid)

            def rss(server=server) -> float:
                return sum(p.memory_info().rss for p in [server, *server.children(recursive=True)]) / 2**20

            print(f"{name:9s}: open Review {res['first']:.2f} s; verdict -> next case median {res['next']:.2f} s "
                  f"over {args.repeats}; server RSS {rss():.0f} MiB; load average {os.getloadavg()[0]:.2f}", flush=True)
            if args.idle:
                time.sleep(args.idle)
                print(f"{'':9s}  server RSS after {args.idle:.0f} s idle: {rss():.0f} MiB", flush=True)
        finally:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
