"""The "label to start" order of a batch: clusters of the project's base-model embeddings, so
that the first cases an analyst labels cover every kind of record in the batch.

:func:`rank_for_coverage` embeds the batch's unranked cases with the project's base model
(mean pooling over the attention mask), clusters them with k-means (k about sqrt(n/2),
capped, seeded) and ranks them round-robin over the clusters, largest cluster first, and
inside a cluster nearest to its centroid first: the first k ranks hold one case of each
cluster. Big batches embed a seeded random sample of at most ``SAMPLE_CAP`` cases; the
cases left out are ranked after the sample, in id order. Ranks are written per batch, after
any the batch already has, so a rerun ranks only new cases.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from rsad.data import coverage as cov
from rsad.data import store as q
from rsad.data.db import Store
from rsad.i18n import _
from rsad.ops.background import BackgroundJob
from rsad.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    import numpy as np

SAMPLE_CAP = 20_000  # cases embedded per run; the rest of a bigger batch is ranked after them
MAX_CLUSTERS = 100
EMBED_BATCH = 32
SEED = 0


def cluster_count(n: int) -> int:
    """k for n cases: about sqrt(n/2), at least 1, at most MAX_CLUSTERS and n."""
    return max(1, min(MAX_CLUSTERS, n, round(math.sqrt(n / 2))))


def embed_texts(texts: list[str], model_path: str, *, max_length: int = 128, device: str = "cpu",
                progress: ProgressFn = no_progress) -> np.ndarray:
    """Mean-pooled, L2-normalised embeddings of ``texts`` by the model in ``model_path``."""
    from rsad.model.classifier import pick_device
    from rsad.model.hf import hf, quiet_transformers

    AutoModel, AutoTokenizer = hf("AutoModel", "AutoTokenizer")
    quiet_transformers()
    dev = pick_device(device)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModel.from_pretrained(model_path).to(dev).eval()
    return encoder_embeddings(model, tokenizer, texts, max_length=max_length, progress=progress)


def encoder_embeddings(encoder: Any, tokenizer: Any, texts: list[str], *, max_length: int = 128,
                       progress: ProgressFn = no_progress) -> np.ndarray:
    """:func:`embed_texts` with an encoder already in memory (a BERT body: ``model.base_model``
    of a classifier), on the device it is on."""
    import torch

    dev = next(encoder.parameters()).device
    out = []
    with torch.inference_mode():
        for at in range(0, len(texts), EMBED_BATCH):
            enc = tokenizer(texts[at : at + EMBED_BATCH], padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt").to(dev)
            hidden = encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out.append(torch.nn.functional.normalize(pooled.float(), dim=1).cpu())
            progress(min(at + EMBED_BATCH, len(texts)), len(texts), "embedding")
    return torch.cat(out).numpy() if out else torch.zeros((0, 1)).numpy()


def coverage_order(vectors: np.ndarray, k: int, seed: int = SEED) -> tuple[list[int], int]:
    """Row indices in coverage order, and the clusters used: round-robin over k-means clusters
    (largest first), nearest to the centroid first inside each (ties by row index)."""
    import numpy as np
    from sklearn.cluster import KMeans, MiniBatchKMeans

    n = len(vectors)
    if n == 0:
        return [], 0
    k = min(k, len(np.unique(vectors, axis=0)))
    algo = (KMeans(n_clusters=k, random_state=seed, n_init=3) if n <= 5_000
            else MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=1024))
    labels = algo.fit_predict(vectors)
    dist = np.linalg.norm(vectors - algo.cluster_centers_[labels], axis=1)
    members = [sorted(np.flatnonzero(labels == c).tolist(), key=lambda i: (round(float(dist[i]), 6), i))
               for c in range(k)]
    members = [m for m in sorted(members, key=lambda m: (-len(m), m[0])) if m]
    order = [m[r] for r in range(max(map(len, members))) for m in members if r < len(m)]
    return order, len(members)


def rank_for_coverage(store: Store, batch: str | int, *, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Rank the batch's unranked cases for the "label to start" queue (see the module's doc).

    Returns the batch's name and id, the cases ranked, embedded and clustered, the clusters
    and the seconds taken."""
    import numpy as np

    t0 = time.monotonic()
    with store.session() as s:
        b = q.get_batch(s, batch, project_id=store.project_id)
        name, batch_id = b.name, b.id
        cases = cov.unranked_cases(s, batch_id)
    rng = np.random.default_rng(SEED)
    picked = (sorted(rng.choice(len(cases), SAMPLE_CAP, replace=False).tolist())
              if len(cases) > SAMPLE_CAP else list(range(len(cases))))
    sample = [cases[i] for i in picked]
    vectors = embed_texts([t for _, t in sample], store.base_model_path, max_length=store.settings.max_length,
                          device=store.settings.device, progress=progress)
    progress(len(sample), len(sample), "clustering")
    order, clusters = coverage_order(vectors, cluster_count(len(sample)))
    chosen = {sample[i][0] for i in order}
    ids = [sample[i][0] for i in order] + [cid for cid, _ in cases if cid not in chosen]
    with store.session() as s:
        cov.write_ranks(s, ids, cov.next_rank(s, batch_id))
    return {"batch": name, "batch_id": batch_id, "ranked": len(ids), "embedded": len(sample),
            "clusters": clusters, "seconds": time.monotonic() - t0}


def start_ranking(store: Store, batch: str | int) -> BackgroundJob:
    """:func:`rank_for_coverage` in a background thread; watch it with ``snapshot()``."""
    return BackgroundJob(_("coverage order of batch {batch}").format(batch=batch), lambda progress: rank_for_coverage(
        store, batch, progress=progress)).start()
