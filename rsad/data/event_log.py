"""An uploaded event log checked and normalised for :mod:`rsad.data.describe`.

Required columns user_id, timestamp (ISO 8601 with any offset, or Unix seconds), action; optional
item_id, rating (1-5), text, device, ip, is_anomaly. Action names are folded onto the known actions
(``NOUNS``) through common aliases. Unusable input raises InputError naming the (1-based) rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rsad.errors import InputError
from rsad.i18n import N_, _, ngettext

REQUIRED_EVENT_COLUMNS: tuple[str, ...] = ("user_id", "timestamp", "action")
NOUNS = {"view": "view", "click": "click", "search": "search", "cart": "cart add", "order": "order",
         "rate": "rating", "review": "review", "comment": "comment", "play": "play", "like": "like",
         "follow": "follow", "share": "share", "login": "login", "other": "other action"}  # also the known actions
ACTION_ALIASES = {"page_view": "view", "pageview": "view", "add_to_cart": "cart", "purchase": "order", "buy": "order",
                  "checkout": "order", "rating": "rate", "watch": "play", "listen": "play", "log_in": "login",
                  "sign_in": "login", "reply": "comment"}
LABELS = {"1": 1, "true": 1, "yes": 1, "anomaly": 1, "1.0": 1, "0": 0, "false": 0, "no": 0, "normal": 0, "0.0": 0}
MAX_UNIX_SECONDS = 4_102_444_800  # 2100-01-01: larger numbers are milliseconds, not seconds


def _rows(mask: np.ndarray, limit: int = 10) -> str:
    """'rows 3, 7 (2 in total)' with 1-based data-row numbers."""
    pos = np.flatnonzero(mask) + 1
    head = ", ".join(map(str, pos[:limit])) + (", ..." if len(pos) > limit else "")
    return ngettext("row {rows} ({n} in total)", "rows {rows} ({n} in total)", len(pos)).format(rows=head, n=len(pos))


def _clean(col: pd.Series) -> pd.Series:
    """Cells as stripped strings, missing and whitespace-only cells as NaN."""
    return col.astype(str).str.strip().replace("", np.nan)


def _parse_timestamps(col: pd.Series) -> pd.Series:
    """ISO 8601 (any offset) or Unix seconds to naive UTC datetime64[ns]; bad cells become NaT."""
    if pd.api.types.is_datetime64_any_dtype(col):  # naive values are taken to be UTC already
        return pd.to_datetime(col, utc=True).dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        num = col.astype("float64")
        return pd.to_datetime(num.where(num.between(0, MAX_UNIX_SECONDS)), unit="s").astype("datetime64[ns]")
    text = _clean(col)
    iso = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    out = iso.dt.tz_localize(None).astype("datetime64[ns]")
    rest = out.isna() & text.notna()  # numbers in text (CSV) or in a mixed JSON column
    if rest.any():
        num = pd.to_numeric(text[rest], errors="coerce").astype("float64")
        out[rest] = pd.to_datetime(num.where(num.between(0, MAX_UNIX_SECONDS)), unit="s")
    return out


def _check(bad: pd.Series, column: str, problem: str, fix: str) -> None:
    """Raise InputError naming the (1-based) rows where ``bad`` is true."""
    if bad.any():
        raise InputError(_("Column {column!r} {problem} in {rows}. {fix}").format(
            column=column, problem=_(problem), rows=_rows(bad.to_numpy(dtype=bool)), fix=_(fix)))


def validate_events(events: pd.DataFrame) -> pd.DataFrame:
    """Checked, normalised copy: user, action, ts, rating, label and the optional columns."""
    if not isinstance(events, pd.DataFrame) or len(events) == 0:
        raise InputError(_("The event table is empty: it needs rows with {REQUIRED_EVENT_COLUMNS}.").format(
                             REQUIRED_EVENT_COLUMNS=', '.join(REQUIRED_EVENT_COLUMNS)))
    cols = {str(c).strip(): c for c in events.columns}
    missing = [c for c in REQUIRED_EVENT_COLUMNS if c not in cols]
    if missing:
        batch = _(" It looks like a batch of behavior descriptions, not an event log: upload it without the "
                 "event-log switch (--events).") if "behavior_description" in cols else ""
        raise InputError(_("The event table lacks required column(s) {missing}; columns found: {cols}. Rename or "
                           "add them (required: {REQUIRED_EVENT_COLUMNS}).{batch}").format(
                             missing=', '.join(map(repr, missing)), cols=', '.join(map(repr, cols)),
                             REQUIRED_EVENT_COLUMNS=', '.join(REQUIRED_EVENT_COLUMNS), batch=batch))
    blank = pd.Series(np.nan, index=pd.RangeIndex(len(events)), dtype=str)
    get = {k: _clean(events[v].reset_index(drop=True)) for k, v in cols.items() if k != "timestamp"}
    df = pd.DataFrame({"user": get["user_id"], "action": get["action"],
                       "ts": _parse_timestamps(events[cols["timestamp"]].reset_index(drop=True))})
    for name, col in (("user_id", "user"), ("action", "action")):
        _check(df[col].isna(), name, N_("is empty"), N_("Fill it in or remove those rows."))
    _check(_clean(events[cols["timestamp"]].reset_index(drop=True)).isna(), "timestamp", N_("is empty"),
           N_("Every event needs its time: fill it in or remove those rows."))
    _check(df["ts"].isna(), "timestamp", N_("cannot be read"), N_("Timestamps must be ISO 8601 (e.g. "
           "2026-10-01T14:05:00Z) or Unix seconds (not milliseconds)."))
    names = {a: "_".join(str(a).lower().replace("-", " ").split()) for a in df["action"].unique()}
    names = {a: n if n in NOUNS and n != "other" else ACTION_ALIASES.get(n, "other") for a, n in names.items()}
    df["action"] = df["action"].map(names).astype(str)  # per distinct value: few, and fast
    raw = get.get("rating", blank)
    df["rating"] = pd.to_numeric(raw, errors="coerce").astype("float64")
    _check(raw.notna() & ~df["rating"].between(1, 5), "rating", N_("has values that are not numbers from 1 to 5"),
           N_("Use 1-5, or leave the cell empty for events without a rating."))
    for name in ("item_id", "device", "ip", "text"):
        df[name] = get.get(name, blank)
    if "is_anomaly" in get:
        df["label"] = get["is_anomaly"].str.lower().map(LABELS).astype("float64")
        _check(get["is_anomaly"].notna() & df["label"].isna(), "is_anomaly", N_("has values that are not labels"),
               N_("Use 1/0, true/false, yes/no or anomaly/normal, or leave the cell empty."))
    return df
