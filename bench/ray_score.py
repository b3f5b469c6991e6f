"""Scoring throughput on one machine: the local path (`rsad score`) and Ray with 1 and 2 workers
(`rsad score --engine ray --workers N`) on the same stored batch, in one run; the scores of
every Ray run compared with the local path's; and the store's size per case (SQLite, and
PostgreSQL with pg_total_relation_size when --pg-url names a server that may create databases).

    nice -n 10 python bench/ray_score.py --n 2000
    nice -n 10 python bench/ray_score.py --n 2000 --pg-url "$RSAD_TEST_PG_URL"

The model is the embedded MiniLM with an untrained head, saved as a version (bench/_fresh.py):
throughput does not depend on what the head learned. Each Ray run includes loading the model in
each actor (it is part of every run); Ray's own start is timed apart. The load average is printed
with the numbers: the box may be shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _store(url: str, models: Path, n: int):  # noqa: ANN202 - a Store, imported late
    """A store at ``url`` with an active fresh version and one batch of ``n`` texts."""
    from bench._fresh import fresh_version
    from bench.score import load_texts
    from rsad.data.uploads import ingest_file
    from rsad.model import versions
    from rsad.service.batches import open_store

    os.environ["RSAD_DB_URL"], os.environ["RSAD_MODELS_DIR"] = url, str(models)
    store = open_store()
    folder = fresh_version(models) if not (models / "v1").exists() else models / "v1"
    with store.session() as s:
        versions.add_model_version(s, name="v1", folder=str(folder), base_model="embedded", train_config={},
                                   data_hash="-", metrics={}, threshold=0.5, created_by="bench")
    texts, source = load_texts(n)
    table = pd.DataFrame({"case_id": [f"b{i:07d}" for i in range(len(texts))], "behavior_description": texts})
    ingest_file(store, table.to_csv(index=False).encode(), file_name="bench.csv", name="bench")
    return store, source


def _clear(store) -> None:  # noqa: ANN001
    from sqlalchemy import delete

    from rsad.data.orm import Score

    with store.session() as s:
        s.execute(delete(Score))


def _scores(store) -> pd.Series:  # noqa: ANN001
    from sqlalchemy import select

    from rsad.data.orm import Score

    with store.session() as s:
        return pd.Series(dict(s.execute(select(Score.case_id, Score.score)).all())).sort_index()


def _pg_bytes(pg_url: str, models: Path, n: int) -> float:
    """Bytes per scored case in a fresh PostgreSQL database (tables and their indexes); the
    scores and the 384-dim vectors kept beside them (MiniLM's size) are written without a model
    (their values do not change the size)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from rsad.data import embeddings
    from rsad.data import store as q

    name = f"rsad_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        store, _src = _store(make_url(pg_url).set(database=name).render_as_string(hide_password=False), models, n)
        with store.session() as s:  # one score per case, as a scored batch has (the value costs nothing)
            ids = [c for chunk in q.unscored_store_cases(s, 1, project_id=store.project_id) for c, _t in chunk]
            q.put_scores(s, 1, ids, np.random.default_rng(0).random(len(ids)))
            embeddings.put_embeddings(s, 1, ids, np.random.default_rng(0).standard_normal((len(ids), 384)))
        with store.engine.connect() as conn:
            size = sum(conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": t}).scalar()
                       for t in ("cases", "scores", "batches", "case_embeddings"))
        store.dispose()
        return size / n
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="cases in the batch (default %(default)s)")
    parser.add_argument("--workers", default="1,2", help="Ray worker counts to run (default %(default)s)")
    parser.add_argument("--chunk", type=int, default=500,
                        help="cases per chunk, both paths (the app's is 2,000; smaller: 2 workers share a small batch)")
    parser.add_argument("--pg-url", default="", help="a PostgreSQL server URL, to measure bytes per case there too")
    args = parser.parse_args()

    import ray

    from rsad.ops import scoring
    from rsad.ops.ray_scoring import score_batch_ray
    from rsad.ops.scoring import score_batch

    scoring.SCORE_CHUNK = args.chunk  # read at call time by both paths

    root = Path(tempfile.mkdtemp(prefix="rsad-ray-bench-"))
    db = root / "rsad.sqlite3"
    store, source = _store(f"sqlite:///{db}", root / "models", args.n)
    print(f"texts: {source}; n={args.n}; chunk={args.chunk}; cpus={os.cpu_count()}; load before: {os.getloadavg()}")
    rows = []
    t = time.perf_counter()
    from rsad.model.versions import active_version, load_classifier

    load_classifier(store, active_version(store))  # builds the int8 ONNX copy once, outside every timing
    print(f"model load (and int8 ONNX build): {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    score_batch(store, "bench")
    local_s = time.perf_counter() - t
    local = _scores(store)
    rows.append(("local (rsad score)", local_s, 0.0))
    print(f"local: {args.n / local_s:,.1f} rows/s ({local_s:.1f} s)")
    t = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    print(f"ray start: {time.perf_counter() - t:.1f} s")
    for workers in [int(w) for w in args.workers.split(",")]:
        _clear(store)
        t = time.perf_counter()
        score_batch_ray(store, "bench", workers=workers)
        seconds = time.perf_counter() - t
        diff = float(np.abs(_scores(store) - local).max())
        rows.append((f"ray, {workers} worker(s)", seconds, diff))
        print(f"ray {workers} worker(s): {args.n / seconds:,.1f} rows/s ({seconds:.1f} s); "
              f"max |score - local| {diff:.2e}")
    ray.shutdown()
    store.dispose()
    sqlite_bytes = db.stat().st_size / args.n
    print(f"SQLite: {sqlite_bytes:,.0f} bytes per scored case (file {db.stat().st_size:,} bytes)")
    if args.pg_url:
        print(f"PostgreSQL: {_pg_bytes(args.pg_url, root / 'models', args.n):,.0f} bytes per scored case "
              "(cases + scores + vectors + batches, with indexes)")
    print(f"load after: {os.getloadavg()}")
    print("| path | rows/s | seconds | max abs diff vs local |\n|---|---|---|---|")
    for name, seconds, diff in rows:
        print(f"| {name} | {args.n / seconds:,.1f} | {seconds:.1f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
