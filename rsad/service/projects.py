"""Projects for the pages and the CLI: list, create (admins), and the project each user works in."""

from __future__ import annotations

from rsad.auth import policies
from rsad.auth.prefs import get_pref, set_pref
from rsad.auth.users import User
from rsad.data.db import Store
from rsad.data.project_settings import MAX_SECOND_OPINION, SUGGESTED_SECOND_OPINION, project_share, set_second_opinion
from rsad.data.projects import START_PER_CLASS, ProjectInfo, get_project, list_projects, project_names
from rsad.data.projects import add_project as _add
from rsad.errors import NotFoundError
from rsad.i18n import _

__all__ = ["MAX_SECOND_OPINION", "START_PER_CLASS", "SUGGESTED_SECOND_OPINION", "ProjectInfo", "add_project",
           "current_project", "get_project", "list_projects", "project_names", "remember_project",
           "second_opinion_share", "set_second_opinion_share"]

PROJECT_PREF = "project"


def add_project(store: Store, name: str, *, user: User, base_model: str = "", description: str = "",
                reason_codes: tuple[str, ...] = (), start_per_class: int = START_PER_CLASS) -> ProjectInfo:
    """Create a project (admins only)."""
    actor = policies.authorize(user, policies.Action.MANAGE_PROJECTS).name
    return _add(store, name, created_by=actor, base_model=base_model, description=description,
                reason_codes=reason_codes, start_per_class=start_per_class)


def current_project(store: Store, user_name: str) -> str:
    """The project this user last worked in, if it still exists; else the store's default one."""
    names = project_names(store)
    remembered = get_pref(store, user_name, PROJECT_PREF) if user_name else None
    if remembered in names:
        return str(remembered)
    return store.project_name if store.project_name in names else names[0]


def remember_project(store: Store, user_name: str, name: str) -> None:
    """Switch this user to project ``name`` (remembered in the store, for every browser)."""
    if name not in project_names(store):
        raise NotFoundError(_("No project named {name!r}: see `rsad projects list`.").format(name=name))
    if user_name:
        set_pref(store, user_name, PROJECT_PREF, name)


def second_opinion_share(store: Store) -> float:
    """The share of the project's cases a second analyst judges blind (0: off)."""
    with store.session() as s:
        return project_share(s, store.project_id)


def set_second_opinion_share(store: Store, name: str, share: float, *, user: User) -> float:
    """Send ``share`` (0 .. 0.5) of project ``name``'s cases to a second analyst, blind (admins only)."""
    policies.authorize(user, policies.Action.MANAGE_PROJECTS)
    return set_second_opinion(store, name, share)
