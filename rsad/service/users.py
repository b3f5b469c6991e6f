"""Users for the pages and the CLI: sign-in, the local user file, single sign-on users,
lockouts, and who the CLI acts as."""

from __future__ import annotations

from rsad.auth.users import (
    FIRST_ADMIN,
    User,
    UserFile,
    check_password,
    cli_user,
    ensure_first_admin,
    first_admin_pending,
    local_user,
    lock_state,
    normalize_name,
    record,
    sign_in,
    sso_user,
    unlock,
    users_file,
)

__all__ = [
    "FIRST_ADMIN",
    "User",
    "UserFile",
    "check_password",
    "cli_user",
    "ensure_first_admin",
    "first_admin_pending",
    "local_user",
    "lock_state",
    "normalize_name",
    "record",
    "sign_in",
    "sso_user",
    "unlock",
    "users_file",
]
