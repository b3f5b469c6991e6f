"""The foreign-batch check after scoring: a batch's scores and tokens against what its version
was validated on (rsad.evaluation.drift), stored per batch and version (batch_checks).

A version trained before reference profiles existed has none in its metrics. It is then taken,
in this order, from its card (``rsad_model.json``, whose metrics hold it when a newer rsad
trained it), or computed once by scoring the validation rows its card lists (``val_ids``) from
the ``training_set.csv`` in its folder, and cached in the version's metrics. Without that file
(versions trained from a file, not the store) there is no profile: PSI, KS and the flagged-share
comparison are skipped, the unknown-token check still runs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rsad.data import store as q
from rsad.data.db import Store
from rsad.evaluation import drift, drift_log
from rsad.model import versions
from rsad.model.card import TRAINING_SET_FILE, read_card
from rsad.model.versions import VersionInfo

if TYPE_CHECKING:
    from rsad.model.classifier import Classifier

log = logging.getLogger(__name__)


def tokens_unknown(clf: Any, texts: list[str]) -> float | None:
    """Share of the texts' non-special tokens the classifier's tokenizer does not know (None: the
    classifier has no tokenizer, or the texts no tokens)."""
    tokenizer = getattr(clf, "tokenizer", None)
    if tokenizer is None or not texts:
        return None
    return drift.unknown_token_share(clf.encode(texts), tokenizer.unk_token_id, tokenizer.all_special_ids)


def _from_training_set(version: VersionInfo, card: Any, clf: Classifier) -> dict[str, Any] | None:
    import pandas as pd

    path = Path(version.folder) / TRAINING_SET_FILE
    if not path.is_file() or not card.val_ids:
        return None
    rows = pd.read_csv(path, dtype={"case_id": str}, keep_default_na=False)
    texts = rows.loc[rows["case_id"].isin(set(card.val_ids)), "behavior_description"].astype(str).tolist()
    if not texts:
        return None
    scores = clf.score(texts, batch_size=64)
    return drift.reference_profile(scores, version.threshold, tokens_unknown(clf, texts[: drift.SAMPLE_TEXTS]))


def reference_of(store: Store, version: VersionInfo, clf: Classifier) -> dict[str, Any] | None:
    """The version's reference profile: from its metrics, else its card or its validation rows
    (then cached in its metrics); None when there is none to be had."""
    if ref := version.metrics.get("reference"):
        return ref
    try:
        card = read_card(version.folder)
    except Exception:  # noqa: BLE001 - a missing or foreign card only means no profile
        return None
    ref = card.metrics.get("reference") or _from_training_set(version, card, clf)
    if ref:
        with store.session() as s:
            versions.merge_metrics(s, version.id, {"reference": ref})
    return ref


def check_batch(store: Store, clf: Classifier, version: VersionInfo, batch_id: int,
                scores: np.ndarray) -> dict[str, Any]:
    """Assess a scored batch against the version's reference profile and store the check; the
    check as plain data (:meth:`rsad.evaluation.drift.Check.as_dict`)."""
    with store.session() as s:
        texts = q.sample_texts(s, batch_id, drift.SAMPLE_TEXTS)
    check = drift.assess(reference_of(store, version, clf), scores, version.threshold,
                         tokens_unknown(clf, texts)).as_dict()
    with store.session() as s:
        drift_log.put_check(s, batch_id, version.id, check)
    return check


def try_check_batch(store: Store, clf: Classifier, version: VersionInfo, batch_id: int,
                    scores: np.ndarray) -> dict[str, Any] | None:
    """:func:`check_batch`, or None (logged) when it fails: a check never fails the scoring."""
    try:
        return check_batch(store, clf, version, batch_id, scores)
    except Exception:  # noqa: BLE001 - scoring succeeded; the check is advice
        log.exception("Could not check batch %s against version %s", batch_id, version.name)
        return None
