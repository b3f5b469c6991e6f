"""RSAD Review Desk served with its sign-in cookie: `streamlit run serve.py`.

Streamlit serves app.py (the router) as usual and, beside it, two routes that set and clear the
HttpOnly ``rsad_session`` cookie, which a page script cannot read or write. With them a sign-in
survives a reload and a server restart until it expires (rsad/auth/websessions.py says how).
`streamlit run app.py` still works, with sign-in per browser tab. On a fresh store this file
starts the demo bootstrap when the server starts (`rsad serve` runs it).
"""

from __future__ import annotations

import sys

import streamlit as st
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rsad.errors import RsadError
from rsad.service import batches, demo_server
from rsad.service import sessions as websessions

ROUTE_PREFIX = "/api/rsad"


def _base_path() -> str:
    """server.baseUrlPath as a prefix ('' or '/desk'): Streamlit does not prefix our routes."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def _cookie_path() -> str:
    return _base_path() or "/"


async def start_session(request: Request) -> Response:
    """Trade the sign-in form's one-time code for the session cookie."""
    try:
        code = str((await request.json()).get("code") or "")
    except ValueError:
        code = ""
    redeemed = websessions.redeem(code)
    if redeemed is None:
        return JSONResponse({"error": "unknown or used sign-in code: sign in again"}, status_code=403)
    token, max_age = redeemed
    response = Response(status_code=204)
    response.set_cookie(websessions.COOKIE, token, max_age=max_age, path=_cookie_path(), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


async def end_session(request: Request) -> Response:
    """Clear the cookie at sign-out (the page has already revoked its session in the store)."""
    response = Response(status_code=204)
    response.delete_cookie(websessions.COOKIE, path=_cookie_path(), httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


def _start_demo() -> None:
    """At server start (Streamlit imports this file once, before any page opens): on a fresh store,
    the admin's password to this terminal and the demo bootstrap in the background, with progress
    lines here too. Not at a first page open: a desk is usable about a minute after it starts."""
    try:
        store = batches.open_store(project="default")  # where sign-in and the demo live (views/common.py)
        if store.settings.bootstrap:
            demo_server.announce_first_admin(store.settings)
            demo_server.start_demo(store)
    except RsadError as exc:  # the page shows the same error on its first run
        print(f"rsad: {exc}", file=sys.stderr, flush=True)


_start_demo()
websessions.mark_cookie_route_mounted()
app = st.App("app.py", routes=[
    Route(f"{_base_path()}{ROUTE_PREFIX}/session", start_session, methods=["POST"]),
    Route(f"{_base_path()}{ROUTE_PREFIX}/sign-out", end_session, methods=["POST"]),
])
