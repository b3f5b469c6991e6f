"""Rings for the pages and the CLI: (re)compute a batch's rings, list them, open one, record one
verdict for a whole ring, and the project's ring settings (admins).

Each function opens its own transaction on a Store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rsad.auth import policies
from rsad.auth.users import User
from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.project_settings import DEFAULT_COSINE, DEFAULT_WINDOW_HOURS, RingSettings, project_ring_settings
from rsad.data.project_settings import set_ring_settings as _set_settings
from rsad.model import versions
from rsad.ops.rings import VECTORS, compute_rings
from rsad.review import ring_groups
from rsad.review import rings as store_rings
from rsad.review.verdicts import record_verdicts

__all__ = ["DEFAULT_COSINE", "DEFAULT_WINDOW_HOURS", "MIN_RING", "NEAR_DUPLICATE_KEY", "VECTORS", "RingSettings",
           "RingView", "compute_rings", "list_rings", "record_ring_verdict", "ring_settings", "ring_view",
           "set_ring_settings"]

MIN_RING = ring_groups.MIN_RING
NEAR_DUPLICATE_KEY = ring_groups.NEAR_DUPLICATE_KEY  # stored in ring keys in English; pages translate it


@dataclass(frozen=True)
class RingView:
    """One ring as the Rings page shows it: the ring's row, its members (highest score first,
    each with its parsed ``time`` or None) and the time column used."""

    ring: dict[str, Any]
    members: list[dict[str, Any]]
    time_column: str

    @property
    def judged(self) -> int:
        return sum(m["verdict"] is not None for m in self.members)


def ring_settings(store: Store) -> RingSettings:
    """The project's ring settings (defaults where an admin set none)."""
    with store.session() as s:
        return project_ring_settings(s, store.project_id)


def set_ring_settings(store: Store, name: str, value: RingSettings, *, user: User) -> RingSettings:
    """Set project ``name``'s entity columns, time column, window and near-duplicate cosine (admins)."""
    policies.authorize(user, policies.Action.SET_RING_SETTINGS)
    return _set_settings(store, name, value)


def list_rings(store: Store, batch: str | int) -> list[dict[str, Any]]:
    """The rings last computed for ``batch`` under the active version (none yet: an empty list)."""
    with store.session() as s:
        batch_id = q.get_batch(s, batch, project_id=store.project_id).id
        active = versions.require_active(s, project_id=store.project_id)
        return store_rings.ring_rows(s, batch_id, active.id)


def ring_view(store: Store, ring_id: int) -> RingView:
    """A ring of this project with its members under the version that found it."""
    with store.session() as s:
        ring = store_rings.get_ring(s, ring_id, store.project_id)
        members = store_rings.ring_members(s, ring_id, ring["model_version_id"])
        column = ring_groups.pick_time_column([m["meta"] for m in members],
                                              project_ring_settings(s, store.project_id).time_column)
    times = ring_groups.parse_times([m["meta"].get(column) for m in members] if column else [None] * len(members))
    for member, when in zip(members, times):
        member["time"] = None if when is None or when != when else when.to_pydatetime()  # NaT != NaT
    return RingView(ring=ring, members=members, time_column=column)


def record_ring_verdict(store: Store, ring_id: int, label: str, *, user: User, reason_code: str = "",
                        note: str = "", submission: str | None = None) -> dict[str, int]:
    """One verdict for the whole ring: a verdict naming the ring on each member not yet judged.

    Members that already have a verdict keep it (an analyst judged them one by one, or an earlier
    ring verdict did): they are skipped and counted. Goes through the Review page's verdict path, so
    its rules hold (reason codes, required reasons, cases open with another analyst, one record per
    ``submission``). Returns {"recorded": n, "skipped": m}."""
    who = policies.authorize(user, policies.Action.RECORD_VERDICT).name
    with store.session() as s:
        store_rings.get_ring(s, ring_id, store.project_id)  # another project's ring: NotFound
        members = store_rings.member_ids(s, ring_id)
        done = store_rings.judged(s, members)
    todo = [c for c in members if c not in done]
    if not todo:
        return {"recorded": 0, "skipped": len(done)}
    n = record_verdicts(store, todo, label, analyst=who, reason_code=reason_code, note=note, submission=submission,
                        ring_id=int(ring_id))
    return {"recorded": n, "skipped": len(done)}
