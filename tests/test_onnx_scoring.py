"""The onnx-int8 scoring path: agrees with fp32, is built once per version, never breaks scoring."""

import shutil

import numpy as np
import pytest

from conftest import tiny_table
from rsad.model import onnx as onnx_scoring
from rsad.model.classifier import Classifier

TEXTS = tiny_table(64)["behavior_description"].tolist()


@pytest.fixture()
def version_dir(tiny_model_dir, tmp_path):
    folder = tmp_path / "v1"
    shutil.copytree(tiny_model_dir, folder, ignore=shutil.ignore_patterns(onnx_scoring.CACHE_FILE))
    return folder


def test_onnx_int8_agrees_with_fp32_and_is_kept_with_the_version(version_dir):
    exact = Classifier.load(version_dir, device="cpu", max_length=48, precision="fp32")
    fast = Classifier.load(version_dir, device="cpu", max_length=48, precision="auto")
    assert fast.precision == "onnx-int8"
    a, b = exact.score(TEXTS, batch_size=7), fast.score(TEXTS, batch_size=16)
    assert isinstance(fast.scoring_model, onnx_scoring.OnnxScorer) and fast.precision == "onnx-int8"
    assert np.abs(a - b).max() < 0.05 and np.abs(a - b).mean() < 0.01
    cached = version_dir / onnx_scoring.CACHE_FILE
    assert cached.is_file() and not list(version_dir.glob("rsad-onnx-*")), "one file, no leftovers"
    stamp = cached.stat().st_mtime_ns
    again = Classifier.load(version_dir, device="cpu", max_length=48, precision="onnx-int8")
    np.testing.assert_allclose(again.score(TEXTS, batch_size=16), b, atol=1e-6)
    assert cached.stat().st_mtime_ns == stamp, "a second load reuses the file"
    # One padded batch or many: the exported graph takes any shape. Dynamic quantization scales
    # activations per batch, so scores move a little with the batch (PyTorch int8 does the same).
    np.testing.assert_allclose(fast.score(TEXTS, batch_size=64), b, atol=0.01)


def test_a_model_onnx_cannot_take_falls_back_to_pytorch_int8(version_dir, monkeypatch, caplog):
    def broken(model, out):
        raise RuntimeError("exporter cannot trace this model")

    monkeypatch.setattr(onnx_scoring, "build", broken)
    clf = Classifier.load(version_dir, device="cpu", max_length=48, precision="auto")
    scores = clf.score(TEXTS[:8])
    assert clf.precision == "int8" and scores.shape == (8,)
    assert "ONNX int8 scoring unavailable" in caplog.text


def test_without_onnxruntime_auto_means_pytorch_int8(version_dir, monkeypatch):
    monkeypatch.setattr(onnx_scoring, "available", lambda: False)
    assert Classifier.load(version_dir, device="cpu", max_length=48, precision="auto").precision == "int8"


def test_a_read_only_version_folder_builds_in_a_temporary_folder(version_dir, monkeypatch):
    real_build = onnx_scoring.build

    def guarded(model, out):
        if out.parent == version_dir:
            raise PermissionError(f"read-only: {out}")
        real_build(model, out)

    monkeypatch.setattr(onnx_scoring, "build", guarded)
    clf = Classifier.load(version_dir, device="cpu", max_length=48, precision="auto")
    assert clf.score(TEXTS[:4]).shape == (4,) and clf.precision == "onnx-int8"
    assert not (version_dir / onnx_scoring.CACHE_FILE).exists()
    assert clf.scoring_model.path.parent != version_dir
    assert not clf.scoring_model.path.exists(), "the private build folder is gone once the session loaded it"


def test_a_read_only_mount_also_builds_in_a_temporary_folder(version_dir, monkeypatch):
    import errno

    real_build = onnx_scoring.build

    def read_only_fs(model, out):
        if out.parent == version_dir:
            raise OSError(errno.EROFS, "Read-only file system", str(out))
        real_build(model, out)

    monkeypatch.setattr(onnx_scoring, "build", read_only_fs)
    clf = Classifier.load(version_dir, device="cpu", max_length=48, precision="auto")
    assert clf.score(TEXTS[:4]).shape == (4,) and clf.precision == "onnx-int8"


def test_a_cached_file_that_will_not_load_is_rebuilt(version_dir):
    (version_dir / onnx_scoring.CACHE_FILE).write_bytes(b"not an onnx model")
    clf = Classifier.load(version_dir, device="cpu", max_length=48, precision="auto")
    assert clf.score(TEXTS[:4]).shape == (4,) and clf.precision == "onnx-int8"
    assert (version_dir / onnx_scoring.CACHE_FILE).stat().st_size > 1000
