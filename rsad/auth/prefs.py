"""Each user's remembered choices (the project they work in, later their language), kept in
the store so they follow the user to another browser and survive a restart."""

from __future__ import annotations

from sqlalchemy import select

from rsad.data.db import Store
from rsad.data.orm import UserPref, utcnow


def get_pref(store: Store, user_name: str, key: str) -> str | None:
    with store.session() as s:
        return s.scalar(select(UserPref.value).where(UserPref.user_name == user_name, UserPref.key == key))


def set_pref(store: Store, user_name: str, key: str, value: str) -> None:
    """Remember ``value`` for this user (a later call replaces it)."""
    with store.session() as s:
        row = s.get(UserPref, (user_name, key))
        if row is None:
            s.add(UserPref(user_name=user_name, key=key, value=value, updated_at=utcnow()))
        else:
            row.value, row.updated_at = value, utcnow()
