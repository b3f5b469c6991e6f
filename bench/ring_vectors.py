"""Could rings link near-duplicates by the stored head vectors? Connected components of a batch's
flagged cases linked by the cosine of the vectors kept at scoring (decision 0026), per threshold:
how many links, the largest rings (3 or more), and how many planted demo ring members
(external ids ``n9...``, rsad.data.synth_rings) fall in rings. Decision 0030 has the result.

    RSAD_DB_URL=sqlite:///DIR/rsad.sqlite3 RSAD_MODELS_DIR=DIR/models python bench/ring_vectors.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rsad.config import get_settings  # noqa: E402
from rsad.ops.similar import load_vectors  # noqa: E402
from rsad.service import batches  # noqa: E402

FLAGGED = ("SELECT c.id, c.external_id FROM cases c JOIN scores s ON s.case_id = c.id "
           "JOIN batches b ON b.id = c.batch_id WHERE b.name = :batch AND s.model_version_id = :v "
           "AND s.score >= :t")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="demo-batch")
    parser.add_argument("--cosines", default="0.95,0.98,0.99,0.995")
    args = parser.parse_args()
    store = batches.open_store(get_settings())
    with store.engine.connect() as conn:
        version, threshold = conn.execute(text("SELECT id, threshold FROM model_versions WHERE status = 'active' "
                                               "AND project_id = :p"), {"p": store.project_id}).one()
        rows = conn.execute(text(FLAGGED), {"batch": args.batch, "v": version, "t": threshold}).all()
    planted = {cid for cid, ext in rows if str(ext).startswith("n9")}
    ids, matrix = load_vectors(store, version, [cid for cid, _ in rows])
    cos = matrix @ matrix.T
    np.fill_diagonal(cos, 0.0)
    print(f"{args.batch}: {len(ids)} flagged cases with vectors, {len(planted)} planted ring members")
    for limit in (float(c) for c in args.cosines.split(",")):
        links = csr_matrix(cos >= limit)
        _n, label = connected_components(links, directed=False)
        sizes = np.bincount(label)
        in_rings = sizes[label] >= 3
        caught = sum(1 for cid, inside in zip(ids, in_rings) if inside and cid in planted)
        largest = sorted((int(n) for n in sizes[sizes >= 3]), reverse=True)[:8]
        print(f"cosine >= {limit}: {links.nnz // 2} links, rings {largest}, planted in rings {caught}")
    store.dispose()


if __name__ == "__main__":
    main()
