"""Can the model that will score a batch read it? Measured at ingest with that model's tokenizer
only (no weights: cheap), kept in the batch's ingest report under ``"vocabulary"`` so pages show
it without tokenizing again; the warning texts for ingest and for scoring (rsad.evaluation.vocab).
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import Any

from rsad.data import store as q
from rsad.data.db import Store
from rsad.evaluation import drift, vocab
from rsad.model import versions

log = logging.getLogger(__name__)
_LOAD = threading.Lock()


@lru_cache(maxsize=8)
def _tokenizer(folder: str) -> Any:
    from rsad.model.hf import hf, quiet_transformers

    quiet_transformers()
    (auto,) = hf("AutoTokenizer")
    return auto.from_pretrained(folder)


def tokenizer(folder: str) -> Any:
    """The tokenizer saved in a model folder, loaded once per process (a lock: pages share it)."""
    with _LOAD:
        return _tokenizer(folder)


def scoring_model(store: Store) -> tuple[str | None, str]:
    """(version name, folder) of the model that will score this project's next batch: the active
    version, else (None, the project's base model)."""
    with store.session() as s:
        active = versions.active_model(s, project_id=store.project_id)
        if active is not None:
            return active.name, active.folder
    return None, store.base_model_path


def measure_texts(texts: list[str], version: str | None, folder: str) -> dict[str, Any]:
    """The ``"vocabulary"`` entry for these texts read by the tokenizer in ``folder``."""
    tok = tokenizer(folder)
    ids = tok(texts, add_special_tokens=False, truncation=True)["input_ids"] if texts else []
    return vocab.measure(texts, ids, tok.unk_token_id, tok.all_special_ids, vocab.model_label(version, folder))


def measure_batch(store: Store, batch_id: int) -> dict[str, Any] | None:
    """Measure a stored batch with the scoring model's tokenizer and keep the result in its ingest
    report; None (logged) when it cannot be measured: the upload itself has succeeded."""
    version, folder = scoring_model(store)
    try:
        with store.session() as s:
            texts = q.sample_texts(s, batch_id, drift.SAMPLE_TEXTS)
        try:
            found = measure_texts(texts, version, folder)
        except Exception:  # noqa: BLE001 - a version folder without its tokenizer: the base model's
            if version is None:
                raise
            found = measure_texts(texts, None, store.base_model_path)
        with store.session() as s:
            batch = q.get_batch(s, batch_id, project_id=store.project_id)
            # A new dict: the JSON column is saved only when the attribute is reassigned.
            batch.ingest_report = {**(batch.ingest_report or {}), "vocabulary": found}
        return found
    except Exception:  # noqa: BLE001 - the measure is advice, never a failed upload
        log.exception("Could not measure the vocabulary of batch %s", batch_id)
        return None


def batch_language(store: Store, batch_id: int) -> str | None:
    """The language a batch's texts look like ('zh', ...; None: none the desk names), from its
    ingest report, else from a sample of its texts (a batch stored before the measure)."""
    with store.session() as s:
        report = q.get_batch(s, batch_id, project_id=store.project_id).ingest_report or {}
        if "vocabulary" in report:
            return report["vocabulary"].get("language")
        return vocab.looks_like(q.sample_texts(s, batch_id, drift.SAMPLE_TEXTS))


def ingest_warning(found: dict[str, Any] | None) -> str | None:
    """The warning for a batch just stored (its ``"vocabulary"`` entry), None when it reads fine."""
    if not found:
        return None
    return vocab.warning(found.get("unknown_token_share"), found["model"], found.get("language"))


def scoring_warning(store: Store, batch_id: int, model: str, check: dict[str, Any] | None) -> str | None:
    """The warning for a scored batch whose check found too many unknown tokens (None otherwise)."""
    if not check or not vocab.unreadable(check.get("unknown_token_share")):
        return None
    return vocab.warning(check["unknown_token_share"], vocab.model_label(model, ""),
                         batch_language(store, batch_id))
