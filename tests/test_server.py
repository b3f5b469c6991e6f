"""`streamlit run serve.py` and `streamlit run app.py` really serve on a free localhost port."""

import os
import subprocess
import sys
import time
import urllib.request

from conftest import ROOT, free_port


def test_streamlit_serves_the_app(env):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    assert r.read() == b"ok"
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "streamlit did not answer within 60 s"
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert b"<html" in r.read().lower()
    finally:
        proc.terminate()
        proc.wait(10)


def test_streamlit_run_serve_py_serves_the_app_and_the_cookie_routes(env, users):
    import urllib.error

    from conftest import StreamlitServer

    server = StreamlitServer(env / "serve.log")
    server.start()
    try:
        with urllib.request.urlopen(f"{server.url}/review?batch=1", timeout=5) as r:
            assert b"<html" in r.read().lower()  # the app's pages, from app.py
        post = urllib.request.Request(f"{server.url}/api/rsad/session", data=b'{"code": "made-up"}', method="POST")
        try:
            urllib.request.urlopen(post, timeout=5)
            raise AssertionError("a made-up hand-off code was accepted")
        except urllib.error.HTTPError as refused:
            assert refused.code == 403 and "set-cookie" not in refused.headers
        out = urllib.request.Request(f"{server.url}/api/rsad/sign-out", data=b"", method="POST")
        with urllib.request.urlopen(out, timeout=5) as r:
            cleared = r.headers["set-cookie"]
        assert cleared.startswith('rsad_session=""') and "HttpOnly" in cleared and "Max-Age=0" in cleared
    finally:
        server.stop()
