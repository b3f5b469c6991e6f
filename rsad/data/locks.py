"""Locks that hold across machines: several replicas of the desk on one PostgreSQL store.

The file locks (``fcntl``) that keep two processes from starting two trainings or building the
demo twice only see one machine. On PostgreSQL the same sections also take an advisory lock,
which every replica's connection to the store sees; SQLite stores live on one machine, where the
file locks already suffice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from rsad.data.db import Store

# Advisory lock keys: one per section; any 64-bit number nobody else in the database uses.
TRAINING_START = 0x7273_6164_0001
DEMO_BUILD = 0x7273_6164_0002


def hold_in_transaction(session: Session, key: int) -> None:
    """Wait for ``key`` until the session's transaction ends (PostgreSQL; nothing on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@contextmanager
def try_hold(store: Store, key: int) -> Iterator[bool]:
    """Hold ``key`` for the block if no other connection holds it; yields whether it was taken
    (always True on SQLite). The lock is the connection's, released when the block ends."""
    if store.engine.dialect.name != "postgresql":
        yield True
        return
    with store.engine.connect() as conn:
        taken = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        try:
            yield taken
        finally:
            if taken:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.rollback()
