"""Upload page helpers: the label values a file uses, and the rows an upload skipped."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.service import batches
from rsad.service.batches import LabelValuesUnknown
from views.common import get_store, md, show_error


def anomaly_values(table: pd.DataFrame, column: str) -> tuple[str, ...]:
    """The label values that mean anomaly: none needed when rsad knows the column's values; else
    the user's answer to "Which value means anomaly?". Shows the mapping in a caption."""
    chosen: tuple[str, ...] = ()
    try:
        try:
            label_map = batches.label_mapping(table, column)
        except LabelValuesUnknown as exc:
            pick = st.radio("Which value means anomaly?", exc.values, key="map_anomaly", index=None,
                            horizontal=True, help=f"Column {column!r} holds values rsad does not know as labels: "
                            "the value you pick means anomaly, the other normal.")
            if pick is None:
                st.info(f"Pick which value of {md(repr(column))} means anomaly, or choose no label column.")
                return ()
            chosen = (pick,)
            label_map = batches.label_mapping(table, column, chosen)
    except RsadError as exc:
        show_error(exc)
        return chosen
    st.caption(f"Labels: {md(batches.describe_map(label_map))}")
    return chosen


def ingest_summary(info: dict[str, Any]) -> None:
    """After storing: the skipped rows with a download of them all (the label mapping is shown
    with the column mapping above)."""
    if not info.get("skipped"):
        return
    st.warning(f"Skipped {info['skipped']:,} rows of {info['rows_in_file']:,} in {md(repr(info['name']))}: they "
               "could not be used (row = data row in the file, 1 = the first under the header).")
    head = pd.DataFrame(info["skipped_head"], columns=["row", "id", "reason"])
    st.dataframe(head, key="upload_skipped", hide_index=True)
    st.download_button("Download all skipped rows (CSV)", batches.skipped_csv(get_store(), info["id"]),
                       f"{info['name']}-skipped.csv", "text/csv", key="upload_skipped_csv", on_click="ignore")
