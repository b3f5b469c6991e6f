"""`rsad users ...`: the local user file (names, roles, password hashes) and sign-in lockouts."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from rsad.errors import InputError
from rsad.i18n import _, ngettext

if TYPE_CHECKING:  # the service layer loads its libraries only when a command runs
    from rsad.service.users import User, UserFile


def _users() -> UserFile:
    from rsad.config import get_settings
    from rsad.service.users import users_file

    return users_file(get_settings())


def _admin(args: argparse.Namespace) -> User:
    """The acting user (rsad.auth.users.cli_user), if they may manage users; otherwise AccessError."""
    from rsad.config import get_settings
    from rsad.service import policies
    from rsad.service.users import cli_user

    return policies.authorize(cli_user(get_settings(), getattr(args, "as_user", None)),
                              policies.Action.MANAGE_USERS)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InputError(_("No password on standard input."))
        return line
    if not sys.stdin.isatty():
        raise InputError(_("Not at a terminal: pipe the password in with --password-stdin."))
    first = getpass.getpass(_("Password: "))
    if getpass.getpass(_("Repeat it: ")) != first:
        raise InputError(_("The two passwords differ; nothing was changed."))
    return first


def cmd_add(args: argparse.Namespace) -> None:
    """Add a user with a role (asks for the password; --sso: signs in with single sign-on only)."""
    from rsad.service.users import check_password, normalize_name

    _admin(args)
    name = normalize_name(args.name)
    if args.sso:
        if not (args.email or "@" in name):
            raise InputError(_("An SSO user needs an email: give --email, or use the email as the name."))
        password = None
    else:
        password = check_password(_read_password(args))
    _users().add(name, args.role, password, email=args.email or "")
    said = (_("Added {role} {name!r} (single sign-on) to {path}.") if args.sso else
            _("Added {role} {name!r} (a password) to {path}."))
    print(said.format(role=args.role, name=name, path=_users().path))


def cmd_list(args: argparse.Namespace) -> None:
    """List users: role, how they sign in, email, and whether failed sign-ins locked them."""
    from rsad.service.batches import Store
    from rsad.service.users import lock_state

    _admin(args)
    users = _users().load()
    if not users:
        print(_("No users in {path}: add one with `rsad users add NAME --role admin`.").format(path=_users().path))
        return
    store = Store()
    # The column keys and the codes in them (role, password/sso, ok) stay in English: scripts read them.
    print(f"{'name':24} {'role':8} {'sign-in':8} {'email':30} state")
    for name in sorted(users):
        u = users[name]
        locked = lock_state(store, name)
        state = _("locked until {time:%H:%M:%S} UTC").format(time=locked) if locked else "ok"
        if u.get("initial_password"):
            state += _(" (first-start password)")
        print(f"{name:24} {u['role']:8} {'password' if u.get('hash') else 'sso':8} {u.get('email') or '-':30} {state}")


def cmd_remove(args: argparse.Namespace) -> None:
    """Remove a user (their verdicts stay, under their name)."""
    _admin(args)
    _users().remove(args.name)
    print(_("Removed {name!r}.").format(name=args.name) + _end_web_sessions(args.name))


def cmd_passwd(args: argparse.Namespace) -> None:
    """Set a user's password (asks for it, or reads --password-stdin)."""
    from rsad.service.users import check_password

    _admin(args)
    _users().set_password(args.name, check_password(_read_password(args)))
    print(_("Password of {name!r} changed.").format(name=args.name) + _end_web_sessions(args.name))


def _end_web_sessions(name: str) -> str:
    """A removed user or a new password ends that user's browser sign-ins (say how many)."""
    from rsad.service.batches import Store
    from rsad.service.sessions import revoke_user
    from rsad.service.users import normalize_name

    ended = revoke_user(Store(), normalize_name(name))
    return ngettext(" Signed out of {n} browser session.", " Signed out of {n} browser sessions.", ended).format(
        n=ended) if ended else ""


def cmd_unlock(args: argparse.Namespace) -> None:
    """Clear a user name's failed sign-ins so they can try again now."""
    from rsad.service.batches import Store
    from rsad.service.users import unlock

    unlock(Store(), args.name, actor=_admin(args).name)
    print(_("{name!r} may sign in again.").format(name=args.name))


def add_parsers(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001
    users = sub.add_parser("users", help="sign-in users and roles (the local user file)")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], None]) -> argparse.ArgumentParser:
        p = users_sub.add_parser(name, help=fn.__doc__.splitlines()[0], description=fn.__doc__)
        p.set_defaults(func=fn)
        return p

    p = add("add", cmd_add)
    p.add_argument("name")
    p.add_argument("--role", choices=["analyst", "admin"], required=True)
    p.add_argument("--email", help="email the identity provider reports (for --sso users)")
    p.add_argument("--sso", action="store_true", help="no password: signs in with single sign-on only")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add("list", cmd_list)
    add("remove", cmd_remove).add_argument("name")
    p = add("passwd", cmd_passwd)
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add("unlock", cmd_unlock).add_argument("name")
