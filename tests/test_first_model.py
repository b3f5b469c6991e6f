"""A project's first model: the coverage order, the "label to start" queue, verdicts without a
model, and the first-model job from a labeled batch to a scored one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from conftest import NORMAL, SPAM, tiny_table
from rsad.auth.users import User
from rsad.errors import StateError
from rsad.service import batches, projects, review, start
from rsad.service import jobs as retrain

ADMIN = User("root", "admin")
WORDS = sorted({w for t in SPAM + NORMAL for w in t.replace(",", " ").split()} | set("0123456789"))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 1-layer BERT (hidden 32) with a word-level vocabulary: embeds in milliseconds."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(WORDS) + 5, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    return folder


def project_store(store, name: str, base: Path | str = "", per_class: int = 3):
    projects.add_project(store, name, user=ADMIN, base_model=str(base), start_per_class=per_class)
    return store.in_project(name)


def unlabeled(n: int) -> bytes:
    """n unlabeled rows, each with a word of its own (the tiny tokenizer reads most numbers as [UNK])."""
    table = tiny_table(n).drop(columns=["is_anomaly"])
    table["behavior_description"] += [f" {WORDS[(7 * i) % len(WORDS)]}" for i in range(n)]
    return table.to_csv(index=False).encode()


def test_coverage_order_covers_every_cluster_first():
    import numpy as np

    rng = np.random.default_rng(1)
    centers = rng.normal(size=(5, 8)) * 10
    sizes = [40, 20, 10, 5, 3]
    vectors = np.vstack([c + rng.normal(size=(n, 8)) for c, n in zip(centers, sizes)])
    truth = np.repeat(np.arange(5), sizes)
    order, k = _order(vectors, 5)
    assert k == 5 and sorted(order) == list(range(len(vectors)))
    assert set(truth[order[:5]]) == set(range(5))  # one of each cluster before any second
    assert truth[order[0]] == 0  # the largest cluster first
    assert order == _order(vectors, 5)[0]  # deterministic


def _order(vectors, k):
    from rsad.ops.coverage import coverage_order

    return coverage_order(vectors, k)


def test_rank_for_coverage_is_a_permutation_and_deterministic(store, tiny_bert):
    s = project_store(store, "cov", tiny_bert)
    info = batches.ingest_file(s, unlabeled(60), file_name="a.csv", name="a")
    batches.ingest_file(s, unlabeled(60), file_name="b.csv", name="b")
    out = start.rank_for_coverage(s, "a")
    assert out["ranked"] == out["embedded"] == 60 and out["clusters"] == 5  # round(sqrt(30))
    page = start.start_queue(s, "a", limit=100)
    assert [r["rank"] for r in page.rows] == list(range(60)) and page.total == 60 and page.unranked == 0
    again = project_store(store, "cov2", tiny_bert)
    batches.ingest_file(again, unlabeled(60), file_name="a.csv", name="a")
    start.rank_for_coverage(again, "a")
    assert ([r["external_id"] for r in start.start_queue(again, "a", limit=100).rows]
            == [r["external_id"] for r in page.rows])
    assert start.rank_for_coverage(s, "a")["ranked"] == 0  # nothing new to rank
    # Batch b is not ranked yet: the project's queue shows a's ranked cases first, then b's by id.
    whole = start.start_queue(s, limit=200)
    assert whole.total == 120 and whole.unranked == 60
    assert [r["batch"] for r in whole.rows] == ["a"] * 60 + ["b"] * 60
    assert info["labeled"] == 0


def test_start_queue_counts_and_ready(store):
    s = project_store(store, "sms", per_class=2)
    table = tiny_table(8)
    table["is_anomaly"] = [1, None, None, None, 0, None, None, None]
    batches.ingest_file(s, table.to_csv(index=False).encode(), file_name="m.csv", name="m")
    q0 = start.start_queue(s)
    assert q0.counts == {"anomaly": 1, "normal": 1} and q0.needed == 2 and not q0.ready and q0.total == 6
    ids = [r["id"] for r in q0.rows]
    assert review.record_verdicts(s, ids[:1], "anomaly", analyst="ana") == 1  # no model in this project
    assert review.record_verdicts(s, ids[1:2], "normal", analyst="ana") == 1
    review.record_verdicts(s, ids[2:3], "unsure", analyst="ana")
    q1 = start.start_queue(s)
    assert q1.counts == {"anomaly": 2, "normal": 2} and q1.ready and q1.total == 3
    assert [r["id"] for r in q1.rows] == ids[3:]
    # Other projects' cases and labels stay out.
    assert start.start_queue(store).total == 0 and start.start_queue(store).counts == {"anomaly": 0, "normal": 0}


def test_start_first_model_refused_when_a_model_exists(store_with_model):
    batches.ingest_file(store_with_model, tiny_table(8).to_csv(index=False).encode(), file_name="x.csv", name="x")
    with pytest.raises(StateError, match="already has an active model"):
        retrain.start_first_model(store_with_model, "x", user=ADMIN, spawn=False)
    assert start.active_model_name(store_with_model) == "v1"


@pytest.mark.slow
def test_first_model_end_to_end(store, tiny_bert):
    s = project_store(store, "first", tiny_bert)
    info = batches.ingest_file(s, tiny_table(48).to_csv(index=False).encode(), file_name="l.csv", name="l")
    assert info["labeled"] == 48 and start.active_model_name(s) is None
    params = retrain.RetrainParams(epochs=1, max_length=32, batch_size=16)
    job = retrain.start_first_model(s, "l", user=ADMIN, params=params, spawn=False)
    done = retrain.run(store, job["id"])
    assert done["status"] == "done", done["error"]
    assert start.active_model_name(s) == done["version_name"]
    assert "Scored batch 'l'" in done["log"]
    assert "Not compared with an active version: there was no active version" in done["log"]
    over = batches.overview(s)
    assert next(b for b in over["batches"] if b["name"] == "l")["scored"] == 48
    assert pd.notna(over["active"].threshold)


# --- the pages --------------------------------------------------------------------------------

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def page(name: str, user: str = "ana"):
    from streamlit.testing.v1 import AppTest

    from conftest import sign_in

    at = AppTest.from_file(APP, default_timeout=120).run()
    sign_in(at, user)
    at.switch_page(f"views/{name}.py").run()
    assert not at.exception, at.exception
    return at


def needing(store, n: int) -> None:
    """The default project asks for n labels of each class before the first training."""
    from rsad.data.orm import Project

    with store.session() as s:
        s.get(Project, store.project_id).settings = {"start_per_class": n}


def fake_spawn(monkeypatch) -> list[int]:
    """Jobs are queued but no training process starts (this process's pid stands in for it)."""
    import os

    started: list[int] = []
    monkeypatch.setattr("rsad.training.jobs._spawn", lambda store, job_id: started.append(job_id) or os.getpid())
    return started


def test_start_page_labels_in_coverage_order_until_ready(store, users, monkeypatch):
    needing(store, 2)
    batches.ingest_file(store, unlabeled(6), file_name="u.csv", name="u")
    first = start.start_queue(store).rows
    at = page("start")
    assert [p.proto.text for p in at.get("progress")][:2] == ["anomaly 0 / 2", "normal 0 / 2"]
    assert not [b for b in at.button if b.key == "start_train"]
    for row, label in zip(first, ("anomaly", "normal", "anomaly", "normal")):
        at.button(key=f"start_{label}_{row['id']}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert start.start_queue(store).counts == {"anomaly": 2, "normal": 2}
    assert review.case_view(store, first[0]["id"]).verdicts[0]["analyst"] == "ana"
    train = at.button(key="start_train")  # ready, but ana is an analyst: disabled with the reason
    assert train.disabled and "admin" in train.help
    started = fake_spawn(monkeypatch)
    at = page("start", "root")
    at.button(key="start_train").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    job = retrain.latest(store)
    assert started == [job["id"]] and job["params"]["score_batch"] == "u" and job["created_by"] == "root"
    assert any("Retraining is" in m.value for m in at.markdown)


def test_start_page_with_a_model_points_to_review(store_with_model, users):
    at = page("start")
    assert any("has an active model (v1)" in i.value for i in at.info)


def test_upload_without_a_model_offers_the_first_model(store, users, monkeypatch):
    started = fake_spawn(monkeypatch)
    at = page("upload", "root")
    at.file_uploader(key="upload_file").upload("l.csv", tiny_table(8).to_csv(index=False).encode(), "text/csv").run()
    at.button(key="score_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("no model yet" in i.value for i in at.info)
    # A callback: the click counts even on a full rerun (AppTest reruns the page, not the fragment).
    at.button(key="first_model_train").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert started == [retrain.latest(store)["id"]] and len(batches.overview(store)["batches"]) == 1


def test_upload_of_an_unlabeled_batch_orders_it_and_links_label_to_start(store, users, monkeypatch):
    from rsad.service.batches import BackgroundJob

    ranked: list[int] = []
    monkeypatch.setattr("rsad.service.start.start_ranking", lambda store, batch: BackgroundJob(
        "rank", lambda progress: ranked.append(batch) or {"batch": "u", "ranked": 0, "clusters": 0,
                                                          "seconds": 0.0}).start())
    at = page("upload")
    at.file_uploader(key="upload_file").upload("u.csv", unlabeled(6), "text/csv").run()
    at.button(key="score_button").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    batch_id = batches.overview(store)["batches"][0]["id"]
    assert ranked == [batch_id]
    assert any(link.proto.page.endswith("views/start.py") or "start" in link.proto.page
               for link in at.get("page_link"))


def test_cli_coverage_and_train_first_refused_with_a_model(store, tiny_bert, capsys):
    from rsad.cli.main import main

    s = project_store(store, "clip", tiny_bert)
    batches.ingest_file(s, unlabeled(20), file_name="a.csv", name="a")
    assert main(["--project", "clip", "coverage", "a"]) == 0
    assert "Ranked 20 cases of batch 'a' in 3 clusters" in capsys.readouterr().out
    assert main(["--project", "clip", "coverage", "a"]) == 0
    assert "every case is ranked already" in capsys.readouterr().out
    assert main(["--project", "clip", "train-first", "nope"]) == 2
    assert "No batch 'nope'" in capsys.readouterr().err and retrain.latest(s) is None  # refused before any job
    assert main(["--project", "clip", "train-first", "a"]) == 2
    assert "no labeled cases yet" in capsys.readouterr().err and retrain.latest(s) is None
