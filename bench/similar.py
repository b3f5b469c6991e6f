"""Similar cases: which index answers a k=10 cosine query at 100,000 cases within 100 ms on 2 cores.

Compares NumPy brute force over a unit-norm float32 matrix in RAM (rsad.ops.similar.VectorIndex,
what the desk uses), the same over np.memmap, FAISS (exact IndexFlatIP and HNSW) and usearch
(HNSW), each if it imports; then the desk's own path through a store: building the index from
the vectors in SQLite (or PostgreSQL with --pg URL), the cached query, and the append of a new
batch's vectors; and embedding one pasted text (search by example) with the embedded MiniLM.

Vectors are 384-dim (MiniLM's size), drawn as 2,000 Gaussian clusters so that approximate
indexes have neighbours to find (their recall@10 against brute force is reported).

    nice -n 10 python bench/similar.py [--n 100000] [--queries 200] [--pg URL] [--parts memory,store,...]
    # FAISS / usearch only where installed, e.g. pip install --target /tmp/simlibs faiss-cpu usearch
    PYTHONPATH=$PWD:/tmp/simlibs nice -n 10 python bench/similar.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import numpy as np

from rsad.ops.similar import VectorIndex, unit_rows

DIM, K = 384, 10


def vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2_000, DIM)).astype(np.float32)
    return centres[rng.integers(0, len(centres), n)] + 0.5 * rng.normal(size=(n, DIM)).astype(np.float32)


def timed(fn, queries: np.ndarray) -> tuple[float, float, list]:  # noqa: ANN001
    """(median ms, p95 ms, answers) of fn(q) over the queries, after one warm-up call."""
    fn(queries[0])
    times, answers = [], []
    for q in queries:
        t0 = time.perf_counter()
        answers.append(fn(q))
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times)), float(np.percentile(times, 95)), answers


def recall(answers: list, truth: list) -> float:
    return float(np.mean([len(set(a) & set(t)) / K for a, t in zip(answers, truth)]))


def report(name: str, build_s: float, med: float, p95: float, rec: float, mem_mb: float) -> None:
    print(f"| {name} | {build_s:.2f} | {med:.1f} | {p95:.1f} | {rec:.3f} | {mem_mb:.0f} |", flush=True)


def libraries(matrix: np.ndarray, ids: np.ndarray, queries: np.ndarray, truth: list) -> None:
    try:
        import faiss

        faiss.omp_set_num_threads(2)
        t0 = time.perf_counter()
        flat = faiss.IndexFlatIP(DIM)
        flat.add(matrix)
        build = time.perf_counter() - t0
        med, p95, ans = timed(lambda q: list(ids[flat.search(q[None, :], K)[1][0]]), queries)
        report(f"FAISS {faiss.__version__} IndexFlatIP (exact)", build, med, p95, recall(ans, truth),
               matrix.nbytes / 2**20)
        t0 = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(DIM, 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.add(matrix)
        hnsw.hnsw.efSearch = 64
        build = time.perf_counter() - t0
        med, p95, ans = timed(lambda q: list(ids[hnsw.search(q[None, :], K)[1][0]]), queries)
        report("FAISS IndexHNSWFlat M=32 efSearch=64", build, med, p95, recall(ans, truth), matrix.nbytes / 2**20 * 1.2)
    except ImportError:
        print("| FAISS | not installed (pip install faiss-cpu) | | | | |")
    try:
        from usearch.index import Index

        t0 = time.perf_counter()
        index = Index(ndim=DIM, metric="cos", dtype="f32")
        index.add(ids, matrix, threads=2)
        build = time.perf_counter() - t0
        med, p95, ans = timed(lambda q: list(index.search(q, K).keys), queries)
        report("usearch HNSW (cos, f32)", build, med, p95, recall(ans, truth), index.memory_usage / 2**20)
    except ImportError:
        print("| usearch | not installed (pip install usearch) | | | | |")
    import sqlite3

    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        print("| sqlite-vec | not loadable: this Python's sqlite3 was built without extension loading | | | | |")


def in_memory(n: int, n_queries: int, with_libraries: bool = True) -> None:
    matrix = unit_rows(vectors(n))
    ids = np.arange(1, n + 1, dtype=np.int64)
    rng = np.random.default_rng(1)  # a case's neighbours: queries are stored cases, a little moved
    queries = unit_rows(matrix[rng.integers(0, n, n_queries)] + 0.02 * rng.normal(size=(n_queries, DIM)))
    print(f"\n{n:,} vectors x {DIM}, k={K}, {n_queries} queries, threads: {os.environ.get('OMP_NUM_THREADS')}\n")
    print("| index | build s | median ms | p95 ms | recall@10 | memory MB |\n|---|---|---|---|---|---|")
    t0 = time.perf_counter()
    brute = VectorIndex(ids, matrix.copy())
    build = time.perf_counter() - t0
    med, p95, ans = timed(lambda q: [c for c, _ in brute.query(q, K)], queries)
    truth = ans
    report("NumPy brute force, float32 in RAM (rsad)", build, med, p95, 1.0, matrix.nbytes / 2**20)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.f32"
        matrix.tofile(path)
        mm = np.memmap(path, dtype=np.float32, mode="r", shape=matrix.shape)
        mapped = VectorIndex(ids, mm)
        med, p95, ans = timed(lambda q: [c for c, _ in mapped.query(q, K)], queries)
        report("NumPy brute force, np.memmap (page cache warm)", 0.0, med, p95, recall(ans, truth), 0)
    if with_libraries:
        libraries(matrix, ids, queries, truth)


def through_store(n: int, server: str | None) -> None:
    """The desk's path: vectors in the store, the index built from them, cached, appended to.
    ``server``: a PostgreSQL URL where a scratch database is created and dropped afterwards."""
    if server is None:
        _through_store(n, None)
        return
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"rsad_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _through_store(n, make_url(server).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _through_store(n: int, url: str | None) -> None:
    from sqlalchemy import insert

    from rsad.data import embeddings
    from rsad.data.db import Store
    from rsad.data.orm import Batch, Case, ModelVersion
    from rsad.ops import similar

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RSAD_DB_URL"] = url or f"sqlite:///{tmp}/bench.sqlite3"
        store = Store()
        matrix = vectors(n + 2_000, seed=2)
        t0 = time.perf_counter()
        with store.session() as s:
            batch = Batch(project_id=1, name="bench", file_name="bench.csv", sha256="0" * 64, uploader="bench",
                          row_count=n + 2_000)
            version = ModelVersion(project_id=1, name="vbench", folder=tmp, base_model="", data_hash="", threshold=0.5)
            s.add_all([batch, version])
            s.flush()
            s.execute(insert(Case), [{"batch_id": batch.id, "external_id": f"c{i}", "text": "x", "meta": {}}
                                     for i in range(n + 2_000)])
            version_id, batch_id = version.id, batch.id
        with store.session() as s:
            from sqlalchemy import select

            case_ids = list(s.scalars(select(Case.id).where(Case.batch_id == batch_id).order_by(Case.id)))
        for i in range(0, n, 5_000):
            with store.session() as s:
                embeddings.put_embeddings(s, version_id, case_ids[i:i + 5_000], matrix[i:i + 5_000])
        print(f"\nthrough the store ({store.engine.url.get_backend_name()}): {n:,} vectors written in "
              f"{time.perf_counter() - t0:.1f} s (float16, {n * DIM * 2 / 2**20:.0f} MB)")
        t0 = time.perf_counter()
        index = similar.index_for(store, version_id)
        print(f"  cold index_for (read + normalize): {time.perf_counter() - t0:.2f} s, {len(index):,} rows")
        med, _p95, _ = timed(lambda q: similar.index_for(store, version_id).query(q, K), matrix[:50])
        print(f"  warm index_for + query (watermark check, then search): median {med:.1f} ms")
        with store.session() as s:
            embeddings.put_embeddings(s, version_id, case_ids[n:], matrix[n:])
        t0 = time.perf_counter()
        index = similar.index_for(store, version_id)
        print(f"  after a 2,000-case batch, index_for appends: {time.perf_counter() - t0:.2f} s, {len(index):,} rows")
        store.dispose()


def one_text() -> None:
    from rsad.config import embedded_base_model
    from rsad.model.classifier import Classifier

    clf = Classifier.load(embedded_base_model(), device="cpu", max_length=128, precision="auto")
    text = "账号在3分钟内从12台设备下了40单，全是同一件商品 account placed 40 orders in 3 minutes from 12 devices"
    clf.embed([text])  # builds or loads the ONNX graph
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        clf.embed([text])
        times.append((time.perf_counter() - t0) * 1000)
    print(f"\nembedding one pasted text ({clf.precision}): median {np.median(times):.1f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--pg", default=None, help="a PostgreSQL server URL: the store part runs in a scratch "
                   "database created there and dropped afterwards (default: SQLite)")
    p.add_argument("--parts", default="memory,libraries,store,text",
                   help="which parts to run, comma-separated (default %(default)s)")
    args = p.parse_args()
    parts = set(args.parts.split(","))
    if parts & {"memory", "libraries"}:
        in_memory(args.n, args.queries, "libraries" in parts)
    if "store" in parts:
        through_store(args.n, args.pg)
    if "text" in parts:
        one_text()


if __name__ == "__main__":
    main()
