"""Upload page helpers: the label values a file uses, and the rows an upload skipped."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from rsad.errors import RsadError
from rsad.i18n import _
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
            pick = st.radio(_("Which value means anomaly?"), exc.values, key="map_anomaly", index=None,
                            horizontal=True, help=_("Column {column} holds values rsad does not know as labels: "
                                                    "the value you pick means anomaly, the other normal.").format(
                                column=repr(column)))
            if pick is None:
                st.info(_("Pick which value of {column} means anomaly, or choose no label column.").format(
                    column=md(repr(column))))
                return ()
            chosen = (pick,)
            label_map = batches.label_mapping(table, column, chosen)
    except RsadError as exc:
        show_error(exc)
        return chosen
    st.caption(_("Labels: {mapping}").format(mapping=md(batches.describe_map(label_map))))
    return chosen


def ingest_summary(info: dict[str, Any]) -> None:
    """After storing: the skipped rows with a download of them all (the label mapping is shown
    with the column mapping above)."""
    if not info.get("skipped"):
        return
    st.warning(_("Skipped {skipped:,} rows of {rows:,} in {file}: they could not be used (row = data row in the "
                 "file, 1 = the first under the header).").format(skipped=info["skipped"], rows=info["rows_in_file"],
                                                                  file=md(repr(info["name"]))))
    head = pd.DataFrame(info["skipped_head"], columns=["row", "id", "reason"])
    st.dataframe(head, key="upload_skipped", hide_index=True,
                 column_config={"row": _("row"), "id": _("id"), "reason": _("reason")})
    st.download_button(_("Download all skipped rows (CSV)"), batches.skipped_csv(get_store(), info["id"]),
                       f"{info['name']}-skipped.csv", "text/csv", key="upload_skipped_csv", on_click="ignore")
