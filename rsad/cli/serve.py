"""`rsad serve`: prepare the store, print the admin's password, run the desk (Streamlit on serve.py)."""

from __future__ import annotations

import argparse
import os
import sys

from rsad.cli.common import Adder
from rsad.config import PROJECT_ROOT
from rsad.i18n import _


def streamlit_command(port: int, address: str | None) -> list[str]:
    """The Streamlit command line that serves the desk (serve.py: the router plus the cookie routes)."""
    command = [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "serve.py"),
               "--server.port", str(port), "--server.headless", "true"]
    if address:
        command += ["--server.address", address]
    return command


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the desk: migrate the store, create the first admin (password printed here, once), then run
    Streamlit on serve.py, which on a fresh store builds the demo at once, with progress lines here.

    About a minute later Review shows the scored demo batch (a starter model); a fine-tuned model
    follows in the background and replaces it only if it is better. Ctrl-C stops the server."""
    from rsad.service.batches import open_store
    from rsad.service.demo_server import announce_first_admin

    store = open_store(project="default")  # migrates; sign-in and the demo live in the default project
    password = announce_first_admin(store.settings)
    if password is None:
        print(_("Sign in with your user (`rsad users list`; add one with `rsad users add NAME --role analyst`)."))
    print(_("Store: {location}. Open http://localhost:{port} once the server is up.").format(
        location=store.location, port=args.port), flush=True)
    if args.no_server:
        return
    command = streamlit_command(args.port, args.address)
    os.chdir(PROJECT_ROOT)  # Streamlit's own config (.streamlit/) lives beside serve.py
    os.execv(command[0], command)  # Streamlit replaces this process: Ctrl-C stops it, demo threads too


def add_commands(add: Adder) -> None:
    p = add("serve", cmd_serve)
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default %(default)s)")
    p.add_argument("--address", help="address to listen on (default: Streamlit's, all interfaces)")
    p.add_argument("--no-server", action="store_true",
                   help="prepare the store and print the admin's password, then exit without serving")
