"""The current labels as a file in the batch schema (CSV guarded against formula injection, or Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from rsad.auth import policies
from rsad.auth.users import User
from rsad.data.csvsafe import to_safe_csv
from rsad.data.db import Store
from rsad.errors import InputError
from rsad.i18n import _
from rsad.review import case_stats, labels


def export_labels(store: Store, out: str | Path) -> dict[str, Any]:
    """Write the current labels in the batch schema (CSV or Parquet by extension).

    CSV cells that a spreadsheet would run as formulas are guarded (see :mod:`rsad.data.csvsafe`).
    """
    out = Path(out)
    if out.suffix.lower() not in {".csv", ".parquet"}:
        raise InputError(_("Export to .csv or .parquet, not {suffix}.").format(
            suffix=out.suffix or _("a file without extension")))
    with store.session() as s:
        rows = with_states(s, labels.current_labels(s, project_id=store.project_id))
    df = labels_frame(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    if out.suffix.lower() == ".csv":
        tmp.write_bytes(to_safe_csv(df))  # texts starting with = + - @ must not run in a spreadsheet
    else:
        df.to_parquet(tmp, index=False)
    tmp.replace(out)
    return {"path": str(out), "rows": len(df),
            "anomalies": int(df["is_anomaly"].sum()) if len(df) else 0}


def labels_bytes(store: Store, fmt: str, *, user: User | None) -> bytes:
    """The current labels as a file's bytes ("csv" or "parquet"), for ``user`` only.

    The Labels page builds its download with this on click, in Streamlit's download thread
    (which has no page to ask who is signed in), so the check happens here, on the user as the
    user file has them at that moment: a user removed or demoted since the page rendered gets
    nothing.
    """
    import io

    policies.authorize(policies.refreshed(store.settings, user), policies.Action.EXPORT_LABELS)
    if fmt not in {"csv", "parquet"}:
        raise InputError(_("Export as csv or parquet, not {fmt!r}.").format(fmt=fmt))
    with store.session() as s:
        df = labels_frame(with_states(s, labels.current_labels(s, project_id=store.project_id)))
    if fmt == "csv":
        return to_safe_csv(df)  # texts starting with = + - @ must not run in a spreadsheet
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def with_states(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each label row with its case's lifecycle state, assignee and closing reason (rsad.review.case_state)."""
    states = case_stats.states_of(session, [r["case_pk"] for r in rows])
    for r in rows:
        st = states.get(r["case_pk"], {})
        r.update(state=st.get("state", "open"), assignee=st.get("assignee") or "",
                 closing_reason=st.get("closing_reason", ""))
    return rows


def labels_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Label rows flattened to the batch schema: text, label, id, then provenance and metadata."""
    if not rows:
        return pd.DataFrame(columns=["case_id", "behavior_description", "is_anomaly", "label_source", "batch"])
    base = pd.DataFrame([{k: v for k, v in r.items() if k not in {"meta", "case_pk"}} for r in rows])
    # Ids are unique per batch only; qualify the clashing ones so the file trains as is.
    clash = base["case_id"].duplicated(keep=False)
    base.loc[clash, "case_id"] = base.loc[clash, "batch"] + ":" + base.loc[clash, "case_id"]
    meta = pd.DataFrame([r["meta"] or {} for r in rows]).add_prefix("meta_")
    return pd.concat([base, meta], axis=1)
