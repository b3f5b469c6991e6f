"""Who is signed in, and with which role (what a role allows is decided in :mod:`rsad.auth.policies`).

Two ways in. With Streamlit's OIDC login configured (an ``[auth]`` section in
``.streamlit/secrets.toml``) the identity is the provider's email claim. Otherwise the local
user file (``RSAD_USERS_FILE``, JSON) holds each name, role and salted argon2id password hash;
it is rewritten atomically under a file lock by ``rsad users ...``. Both ways take the role from
the user file (an SSO user by email); an SSO user with no entry is an analyst.

Failed sign-ins go to the ``rsad.auth.users`` logger and the store's audit log, which also decides
lockouts: after ``RSAD_LOGIN_MAX_FAILURES`` failures within ``RSAD_LOGIN_LOCK_S`` seconds a user
name is refused until ``RSAD_LOGIN_LOCK_S`` seconds after the last failure.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from rsad.auth import audit
from rsad.config import Settings
from rsad.data.db import Store
from rsad.data.orm import utcnow
from rsad.errors import AccessError, InputError, NotFoundError, StateError
from rsad.i18n import _

log = logging.getLogger("rsad.auth.users")

ROLES = ("analyst", "admin")  # each role may do everything the roles before it may
MIN_PASSWORD = 10
FIRST_ADMIN = "admin"
_NAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,99}")
_hasher = PasswordHasher()  # argon2id with a random salt per hash, RFC 9106 low-memory profile
_dummy_hash: list[str] = []  # verified for unknown names so they take as long as known ones


@dataclass(frozen=True)
class User:
    name: str
    role: str
    method: str = "password"  # password | oidc | cli; what a role may do: rsad.auth.policies


def normalize_name(raw: str) -> str:
    name = (raw or "").strip().lower()
    if not _NAME.fullmatch(name):
        raise InputError(_("User name {raw!r}: use 1-100 letters, digits and . _ @ + - (starting with a letter "
                           "or digit).").format(raw=raw))
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(_("Role must be one of {ROLES}, not {role!r}.").format(ROLES=', '.join(ROLES), role=role))
    return role


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise InputError(_("Choose a password of at least {MIN_PASSWORD} characters.").format(
                             MIN_PASSWORD=MIN_PASSWORD))
    return password


class UserFile:
    """The local user file: ``{"users": {name: {role, hash, email, sso, created_at, ...}}}``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, dict[str, Any]]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            users = json.loads(raw)["users"]
        except (ValueError, KeyError, TypeError):
            raise StateError(_("The user file {path} is damaged: restore it from a backup, or move it away and "
                               "add users again with `rsad users add`.").format(path=self.path)) from None
        return users

    @contextmanager
    def _edit(self) -> Iterator[dict[str, dict[str, Any]]]:
        """Read, change and write back under an exclusive lock; the new file replaces the old whole."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            users = self.load()
            yield users
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"users": users}, fh, indent=2, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)

    def get(self, name: str) -> dict[str, Any] | None:
        return self.load().get(name)

    def by_email(self, email: str) -> tuple[str, dict[str, Any]] | None:
        email = email.strip().lower()
        for name, entry in self.load().items():
            if name == email or (entry.get("email") or "").lower() == email:
                return name, entry
        return None

    def add(self, name: str, role: str, password: str | None = None, *, email: str = "",
            initial: bool = False, only_if_empty: bool = False) -> bool:
        """Add a user (a password user, or an SSO-only user without one); False when
        ``only_if_empty`` and the file already has users."""
        name, role = normalize_name(name), check_role(role)
        entry = {"role": role, "email": email.strip().lower(), "created_at": utcnow().isoformat(),
                 "hash": _hasher.hash(check_password(password)) if password is not None else None,
                 "initial_password": initial}
        with self._edit() as users:
            if only_if_empty and users:
                return False
            if name in users:
                raise InputError(_("User {name!r} already exists: `rsad users passwd {name}` changes the "
                                   "password.").format(name=name))
            users[name] = entry
        return True

    def set_password(self, name: str, password: str) -> None:
        name = normalize_name(name)
        hashed = _hasher.hash(check_password(password))
        with self._edit() as users:
            if name not in users:
                raise NotFoundError(_("No user {name!r}: see `rsad users list`.").format(name=name))
            users[name].update(hash=hashed, initial_password=False)

    def remove(self, name: str) -> None:
        name = normalize_name(name)
        with self._edit() as users:
            if name not in users:
                raise NotFoundError(_("No user {name!r}: see `rsad users list`.").format(name=name))
            if users[name]["role"] == "admin" and sum(u["role"] == "admin" for u in users.values()) == 1:
                raise StateError(_("{name!r} is the last admin: add another admin before removing it.").format(
                                     name=name))
            del users[name]


def users_file(settings: Settings) -> UserFile:
    return UserFile(settings.users_file)


def _verify(entry: dict[str, Any] | None, password: str) -> bool:
    if entry is None or not entry.get("hash"):
        if not _dummy_hash:
            _dummy_hash.append(_hasher.hash(secrets.token_hex(16)))
        target = _dummy_hash[0]
    else:
        target = entry["hash"]
    try:
        return _hasher.verify(target, password) and entry is not None and bool(entry.get("hash"))
    except (VerificationError, InvalidHashError):
        return False


def _seconds_until(when: datetime, now: datetime) -> int:
    return max(1, int((when - now).total_seconds() + 0.999))


def sign_in(store: Store, name: str, password: str, *, now: datetime | None = None) -> User:
    """Check a name and password against the user file; every attempt goes to the audit log."""
    now = now or utcnow()
    settings = store.settings
    subject = (name or "").strip().lower()[:200]
    if not subject or not password:
        raise AccessError(_("Enter your user name and password."))
    with store.session() as s:
        until = audit.locked_until(s, subject, max_failures=settings.login_max_failures,
                                   lock_s=settings.login_lock_s, now=now)
        if until is not None:
            audit.add_event(s, "login", subject, actor=subject, ok=False, detail=audit.LOCKED, now=now)
    if until is not None:
        log.warning("sign-in refused for %r: locked until %s", subject, until.isoformat())
        raise AccessError(_("Too many failed sign-ins for {subject!r}: try again in {until} s, or ask an admin "
                            "to run `rsad users unlock {subject}`.").format(subject=subject,
                                                                            until=_seconds_until(until, now)))
    entry = users_file(settings).get(subject)
    ok = _verify(entry, password)
    detail = "signed in" if ok else ("unknown user" if entry is None else
                                     "wrong password" if entry.get("hash") else "SSO-only user")
    with store.session() as s:
        audit.add_event(s, "login", subject, actor=subject, ok=ok, detail=detail, now=now)
    if not ok:
        log.warning("failed sign-in for %r: %s", subject, detail)
        raise AccessError(_("Unknown user name or wrong password."))
    log.info("%r signed in (%s)", subject, entry["role"])
    return User(subject, entry["role"], "password")


def local_user(settings: Settings, name: str) -> User | None:
    """The signed-in password user as the user file has them now (None once removed)."""
    entry = users_file(settings).get(name)
    return User(name, entry["role"], "password") if entry else None


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "cli"


def cli_user(settings: Settings, as_user: str | None = None) -> User:
    """Who a CLI command acts as.

    ``as_user`` (``--as NAME``) or ``RSAD_USER=NAME``: that user of the user file, with its role,
    so an analyst's promote is refused there exactly as on the pages. Otherwise the operator at
    the server's shell, as the admin ``cli:<login>``: shell access to the store and the user file
    already holds every power an admin has, so refusing it would protect nothing.
    """
    name = (as_user or settings.user or "").strip()
    if not name:
        return User(f"cli:{_login()}", "admin", "cli")
    name = normalize_name(name)
    entry = users_file(settings).get(name)
    if entry is None:
        raise NotFoundError(_("No user {name!r} to act as (--as / RSAD_USER): see `rsad users list`, or leave "
                              "both unset to act as the shell's admin.").format(name=name))
    return User(name, entry["role"], "cli")


def sso_user(settings: Settings, email: str) -> User:
    """An OIDC identity: its email, with the role of the user-file entry for it (or analyst)."""
    email = (email or "").strip().lower()
    if not email:
        raise AccessError(_("Your identity provider sent no email address: ask it to include the email claim."))
    found = users_file(settings).by_email(email)
    return User(email, found[1]["role"] if found else "analyst", "oidc")


def record(store: Store, action: str, user: User, *, ok: bool = True, detail: str = "") -> None:
    with store.session() as s:
        audit.add_event(s, action, user.name, actor=user.name, ok=ok, detail=detail or user.method)
    log.info("%s: %r (%s)", action, user.name, user.method)


def unlock(store: Store, name: str, *, actor: str = "cli") -> None:
    """Clear a user name's failed sign-ins (they stay in the audit log)."""
    subject = normalize_name(name)
    with store.session() as s:
        audit.add_event(s, "unlock", subject, actor=actor, ok=True, detail="failed sign-ins cleared")
    log.info("%r unlocked by %r", subject, actor)


def lock_state(store: Store, name: str) -> datetime | None:
    with store.session() as s:
        return audit.locked_until(s, name, max_failures=store.settings.login_max_failures,
                                  lock_s=store.settings.login_lock_s)


def ensure_first_admin(settings: Settings) -> str | None:
    """On a desk with no users at all, add the admin ``admin`` with a random password and return
    it (shown once); otherwise None."""
    if users_file(settings).load():  # the common case, without hashing anything
        return None
    password = secrets.token_urlsafe(12)
    if users_file(settings).add(FIRST_ADMIN, "admin", password, initial=True, only_if_empty=True):
        log.warning("created the first admin %r", FIRST_ADMIN)
        return password
    return None


def first_admin_pending(settings: Settings) -> bool:
    """The bootstrap admin still has the password that was shown once."""
    entry = users_file(settings).get(FIRST_ADMIN)
    return bool(entry and entry.get("initial_password"))
