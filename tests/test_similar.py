"""Similar cases: vectors kept at scoring, the exact cosine index, neighbours, search by example,
embedding older cases on demand, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from conftest import tiny_table
from rsad.auth.users import User
from rsad.data.orm import Case, CaseEmbedding
from rsad.errors import AccessError, InputError, NotFoundError
from rsad.ops import scoring
from rsad.ops import similar as index
from rsad.review import verdicts
from rsad.service import batches, similar
from rsad.service.similar import load_vectors, search_by_example, similar_cases

ANA, ROOT = User("ana", "analyst"), User("root", "admin")
ORIGINAL = "account placed 40 orders in 3 minutes from 12 devices, all on the same item, paid by gift card"
NEAR_COPY = "account placed 41 orders in 3 minutes from 12 devices, all on the same item, paid by gift card"
CHINESE = "账号在3分钟内从12台设备下了40单，全是同一件商品，用礼品卡支付"


def _table() -> pd.DataFrame:
    table = tiny_table(40)
    extra = pd.DataFrame([
        {"case_id": "orig", "behavior_description": ORIGINAL, "is_anomaly": 1, "platform": "shop"},
        {"case_id": "copy", "behavior_description": NEAR_COPY, "is_anomaly": 1, "platform": "shop"},
        {"case_id": "zh", "behavior_description": CHINESE, "is_anomaly": 1, "platform": "shop"},
    ])
    return pd.concat([table, extra], ignore_index=True)


def _scored(store, tmp_path, name: str = "b", table: pd.DataFrame | None = None) -> dict[str, int]:
    csv = tmp_path / f"{name}.csv"
    (table if table is not None else _table()).to_csv(csv, index=False)
    batches.ingest_file(store, csv, name=name)
    scoring.score_batch(store, name)
    with store.session() as s:
        return dict(s.execute(select(Case.external_id, Case.id)).all())


# --- the index alone ----------------------------------------------------------------------------

def test_index_query_is_exact_cosine_and_leaves_out_what_it_is_told():
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(500, 16)).astype(np.float32)
    ids = np.arange(10, 510, dtype=np.int64)
    vectors = index.VectorIndex(ids, index.unit_rows(matrix))
    q = matrix[7] + 0.01 * rng.normal(size=16).astype(np.float32)
    expected = index.unit_rows(matrix) @ (q / np.linalg.norm(q))
    order = np.argsort(-expected)
    found = vectors.query(q, 5)
    assert [c for c, _ in found] == [int(ids[i]) for i in order[:5]]
    np.testing.assert_allclose([cos for _, cos in found], expected[order[:5]], rtol=1e-5)
    assert found[0][0] == 17
    again = vectors.query(q, 5, exclude=(17,))
    assert 17 not in [c for c, _ in again] and again[0][0] == int(ids[order[1]])
    assert len(vectors.query(q, 1000)) == 500 and vectors.query(q, 0) == []


def test_zero_rows_stay_zero():
    out = index.unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


def test_the_head_hook_keeps_only_its_own_threads_forwards():
    """The fp32 model that scores also serves attributions in other threads: their forwards
    must not land among the scoring pass's vectors."""
    import threading

    import torch

    from rsad.model.pooled import capture_pooled

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body, self.classifier = torch.nn.Linear(4, 3), torch.nn.Linear(3, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classifier(self.body(x))

    model = Tiny()
    with capture_pooled(model) as seen:
        other = threading.Thread(target=lambda: model(torch.ones(5, 4)))
        other.start()
        other.join()
        model(torch.ones(2, 4))
    assert [t.shape for t in seen] == [torch.Size([2, 3])]
    model(torch.ones(1, 4))
    assert len(seen) == 1, "the hook is gone once the block ends"


# --- with the tiny model -------------------------------------------------------------------------

@pytest.mark.usefixtures("backend")
def test_scoring_keeps_vectors_and_a_near_copy_is_the_nearest(store_with_model, tmp_path):
    store = store_with_model
    ids = _scored(store, tmp_path)
    with store.session() as s:
        rows = s.execute(select(CaseEmbedding.case_id, CaseEmbedding.dim, CaseEmbedding.model_version_id)).all()
    assert len(rows) == len(ids) and {r.dim for r in rows} == {384}
    found = similar_cases(store, ANA, ids["orig"], k=5)
    assert found.has_vector and found.model == "v1" and found.indexed == len(ids) and found.missing == 0
    assert found.neighbours[0].case_id == ids["copy"] and found.neighbours[0].cosine > 0.95
    assert ids["orig"] not in [n.case_id for n in found.neighbours]
    assert [n.cosine for n in found.neighbours] == sorted((n.cosine for n in found.neighbours), reverse=True)
    first = found.neighbours[0]
    assert first.external_id == "copy" and first.batch == "b" and first.snippet.startswith("account placed 41")
    assert first.score is not None and first.verdict is None
    got, unit = load_vectors(store, found_version(store), [ids["orig"], ids["copy"], 10**9])
    assert list(got) == sorted([ids["orig"], ids["copy"]])
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-5)
    assert float(unit[0] @ unit[1]) == pytest.approx(found.neighbours[0].cosine, abs=1e-5)


def found_version(store) -> int:
    from rsad.model import versions

    return versions.active_version(store).id


def test_search_by_example_summary_and_the_index_follows_new_batches(store_with_model, tmp_path):
    store = store_with_model
    ids = _scored(store, tmp_path)
    with store.session() as s:
        verdicts.add_verdict(s, ids["copy"], "anomaly", analyst="bo", reason_code="fake order")
        verdicts.add_verdict(s, ids["orig"], "anomaly", analyst="bo")
    found = search_by_example(store, ANA, ORIGINAL, k=3)
    assert found.neighbours[0].case_id == ids["orig"] and found.neighbours[0].cosine > 0.99
    assert found.neighbours[1].case_id == ids["copy"] and found.neighbours[1].verdict == "anomaly"
    assert found.summary.anomaly == 2 and dict(found.summary.reasons) == {"fake order": 1, "": 1}
    assert found.summary.anomaly + found.summary.unreviewed + found.summary.normal == 3
    zh = search_by_example(store, ANA, CHINESE, k=1)
    assert zh.neighbours[0].case_id == ids["zh"]
    before = index.index_for(store, found_version(store))
    more = pd.DataFrame([{"case_id": "late", "behavior_description": NEAR_COPY + " again", "is_anomaly": 1,
                          "platform": "shop"}])
    ids = _scored(store, tmp_path, "b2", more)
    after = index.index_for(store, found_version(store))
    assert len(after) == len(before) + 1 and after.vector_of(ids["late"]) is not None
    with pytest.raises(InputError):
        search_by_example(store, ANA, "   ")
    with pytest.raises(InputError):
        similar_cases(store, ANA, ids["orig"], k=0)
    with pytest.raises(NotFoundError):
        similar_cases(store, ANA, 10**9)


def test_cases_scored_before_vectors_are_embedded_on_demand(store_with_model, tmp_path):
    store = store_with_model
    ids = _scored(store, tmp_path)
    with store.session() as s:  # as a store scored before this release: scores, no vectors
        s.execute(delete(CaseEmbedding))
    found = similar_cases(store, ANA, ids["orig"])
    assert not found.has_vector and found.neighbours == [] and found.missing == len(ids)
    assert similar.vector_status(store) == ("v1", 0, len(ids))
    with pytest.raises(AccessError):
        similar.backfill(store, ANA)
    seen = []
    assert similar.backfill(store, ROOT, progress=lambda d, t, m: seen.append((d, t))) == len(ids)
    assert seen[-1] == (len(ids), len(ids))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(CaseEmbedding)) == len(ids)
    found = similar_cases(store, ANA, ids["orig"])
    assert found.has_vector and found.missing == 0 and found.neighbours[0].case_id == ids["copy"]
    assert similar.backfill(store, ROOT) == 0


def test_cli_prints_one_line_per_neighbour(store_with_model, tmp_path, capsys):
    from rsad.cli.main import main

    ids = _scored(store_with_model, tmp_path)
    assert main(["similar", "--case", str(ids["orig"]), "--k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].split("\t")[1:3] == ["copy", "b"]
    assert main(["similar", "--text", CHINESE, "--k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].split("\t")[1] == "zh"
    assert main(["similar", "--case", "999999"]) == 2
    assert "No case 999999" in capsys.readouterr().err


def test_every_scoring_path_gives_the_same_pooled_vectors(tiny_model_dir, tmp_path):
    """ONNX int8 (the graph's second output), PyTorch int8 and fp32 (a hook on the head) agree,
    and embed() gives what scoring gives."""
    import shutil

    from rsad.model import onnx as onnx_scoring
    from rsad.model.classifier import Classifier

    folder = tmp_path / "v1"
    shutil.copytree(tiny_model_dir, folder, ignore=shutil.ignore_patterns("*.onnx"))
    texts = _table()["behavior_description"].tolist()
    exact = Classifier.load(folder, device="cpu", max_length=48, precision="fp32")
    scores, ref = exact.score_and_embed_encoded(exact.encode(texts), batch_size=8)
    assert ref.shape == (len(texts), 384) and np.abs(ref).sum(axis=1).min() > 0
    np.testing.assert_allclose(scores, exact.score(texts), atol=1e-6)
    np.testing.assert_allclose(exact.embed(texts[:5]), ref[:5], atol=1e-5)
    for precision in ("onnx-int8", "int8"):
        clf = Classifier.load(folder, device="cpu", max_length=48, precision=precision)
        _s, vectors = clf.score_and_embed_encoded(clf.encode(texts), batch_size=8)
        assert clf.precision == precision
        cos = (index.unit_rows(vectors) * index.unit_rows(ref)).sum(axis=1)
        assert cos.min() > 0.95, (precision, cos.min())
    cached = folder / onnx_scoring.CACHE_FILE
    assert cached.name == "scoring.int8.v2.onnx" and cached.is_file()
