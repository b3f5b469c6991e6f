"""Finding rings among flagged cases: pure computation on given scores, metadata and vectors.

Two flagged cases are linked when they share the value of an entity column (a device, an IP, a
shop...) and their times lie within the window, or when their texts are near-duplicates (cosine
of their unit vectors at least the threshold). A ring is a connected group of at least
:data:`MIN_RING` cases: a pair sharing a device or a stock phrase is common among honest users
(a household, a shared office), three or more independent accounts is where coordination starts
to be the likelier story, and it keeps the list short enough to read.

Entity values shared by a large part of the whole batch (a country, a carrier's NAT address, the
biggest shop) would join unrelated cases into one huge group: :func:`common_values` finds them and
they make no links.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.neighbors import radius_neighbors_graph

MIN_RING = 3
COMMON_SHARE, COMMON_FLOOR = 0.05, 50  # a value on more than 5% of the batch (and 50 cases) links nothing
NEAR_DUPLICATE_KEY = "near-duplicate text"
TIME_NAMES = ("timestamp", "ts", "time", "event_time", "created_at", "created", "date", "datetime", "first_seen")
MAX_KEYS = 3  # a ring's key names at most this many shared values


@dataclass(frozen=True)
class FoundRing:
    """A ring as found: its members (case ids), what they share and their scores and times."""

    case_ids: tuple[int, ...]
    key: str
    mean_score: float
    first_at: datetime | None
    last_at: datetime | None

    @property
    def size(self) -> int:
        return len(self.case_ids)


def common_values(metas: Iterable[Mapping[str, object]], columns: Iterable[str], rows: int) -> dict[str, set[str]]:
    """Per entity column, the values on more than COMMON_SHARE of the batch's ``rows`` (and more
    than COMMON_FLOOR cases): too common to say anything about coordination."""
    columns = list(columns)
    counts: dict[str, Counter[str]] = {c: Counter() for c in columns}
    for meta in metas:
        for c in columns:
            value = _value(meta.get(c))
            if value:
                counts[c][value] += 1
    limit = common_limit(rows)
    return {c: {v for v, n in counts[c].items() if n > limit} for c in columns}


def common_limit(rows: int) -> float:
    """How many of a batch's ``rows`` may share an entity value before it counts as common."""
    return max(COMMON_FLOOR, COMMON_SHARE * rows)


def pick_time_column(metas: list[Mapping[str, object]], named: str = "") -> str:
    """The metadata column that holds each case's time: ``named`` if given, else the first column
    with a usual time name whose values mostly parse as times; "" when there is none."""
    if named:
        return named
    keys = {k for meta in metas[:200] for k in meta}
    for name in (n for n in TIME_NAMES if n in keys):
        if parse_times([m.get(name) for m in metas[:200]]).notna().mean() >= 0.9:
            return name
    return ""


def parse_times(values: list[object]) -> pd.Series:
    """Times as UTC timestamps (NaT where a value does not parse)."""
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True, errors="coerce", format="mixed")


def _value(raw: object) -> str:
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        return ""
    return str(raw).strip()


def entity_edges(metas: list[Mapping[str, object]], times: pd.Series, columns: Iterable[str],
                 window_hours: float, ignore: Mapping[str, set[str]]) -> list[tuple[int, int, str]]:
    """(i, j, "column=value") for cases i, j sharing a value, consecutive in time within the window.

    Without a time column (all NaT) the window does not apply; in a timed batch a case without a
    time makes no entity links (it cannot be placed in any window)."""
    timed = bool(times.notna().any())
    seconds = (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy() if timed else np.zeros(len(metas))
    edges: list[tuple[int, int, str]] = []
    for col in columns:
        frame = pd.DataFrame({"i": np.arange(len(metas)), "v": [_value(m.get(col)) for m in metas], "t": seconds})
        frame = frame[(frame["v"] != "") & ~frame["v"].isin(ignore.get(col, set())) & ~np.isnan(frame["t"])]
        frame = frame.sort_values(["v", "t"], kind="stable")
        i, v, t = frame["i"].to_numpy(), frame["v"].to_numpy(), frame["t"].to_numpy()
        close = (v[1:] == v[:-1]) & (t[1:] - t[:-1] <= window_hours * 3600)
        edges += [(int(a), int(b), f"{col}={value}") for a, b, value in zip(i[:-1][close], i[1:][close], v[1:][close])]
    return edges


def duplicate_edges(vectors: Any, min_cosine: float) -> list[tuple[int, int, str]]:
    """(i, j, NEAR_DUPLICATE_KEY) for rows whose unit vectors' cosine is at least ``min_cosine``
    (``vectors``: a dense array or a scipy sparse matrix, one row per case)."""
    if vectors is None or vectors.shape[0] < 2 or min_cosine > 1:
        return []
    graph = radius_neighbors_graph(vectors, radius=max(0.0, 1.0 - min_cosine) + 1e-9, metric="cosine",
                                   include_self=False).tocoo()
    return [(int(a), int(b), NEAR_DUPLICATE_KEY) for a, b in zip(graph.row, graph.col) if a < b]


def find_rings(case_ids: list[int], scores: list[float], metas: list[Mapping[str, object]], *,
               entity_columns: Iterable[str], time_column: str = "", window_hours: float = 24.0,
               vectors: Any = None, min_cosine: float = 0.95,
               ignore: Mapping[str, set[str]] | None = None) -> list[FoundRing]:
    """The rings among these (flagged) cases, largest first, then by mean score."""
    n = len(case_ids)
    if n < MIN_RING:
        return []
    times = parse_times([m.get(time_column) for m in metas]) if time_column else pd.Series([pd.NaT] * n)
    edges = entity_edges(metas, times, entity_columns, window_hours, ignore or {})
    edges += duplicate_edges(vectors, min_cosine)
    if not edges:
        return []
    rows, cols = np.array([e[0] for e in edges]), np.array([e[1] for e in edges])
    graph = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    sizes = np.bincount(component)
    keys: dict[int, dict[str, set[int]]] = {}  # per component: each shared value -> the members it links
    for a, b, key in edges:
        keys.setdefault(int(component[a]), {}).setdefault(key, set()).update((a, b))
    rings = []
    for label in np.flatnonzero(sizes >= MIN_RING):
        members = np.flatnonzero(component == label)
        when = times.iloc[members].dropna()
        rings.append(FoundRing(
            case_ids=tuple(sorted(int(case_ids[m]) for m in members)), key=_key_text(keys[int(label)]),
            mean_score=float(np.mean([scores[m] for m in members])),
            first_at=when.min().to_pydatetime() if len(when) else None,
            last_at=when.max().to_pydatetime() if len(when) else None))
    return sorted(rings, key=lambda r: (-r.size, -r.mean_score, r.case_ids))


def _key_text(keys: dict[str, set[int]]) -> str:
    """The shared values that link most members, e.g. "device_id=dev-0042; near-duplicate text"."""
    top = sorted(keys, key=lambda k: (-len(keys[k]), k))[:MAX_KEYS]
    more = len(keys) - len(top)
    return "; ".join(top) + (f"; +{more}" if more > 0 else "")
