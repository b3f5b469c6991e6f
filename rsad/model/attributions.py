"""Attributions cached in the store per (case, version, settings), and computed on demand."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rsad.data.db import Store
from rsad.data.orm import Attribution, Case
from rsad.errors import StateError, Superseded
from rsad.i18n import _
from rsad.model import versions
from rsad.model.lexical import LEXICAL_FILE


def get_attribution(session: Session, case_id: int, model_version_id: int, settings_key: str) -> dict | None:
    return session.scalar(select(Attribution.data).where(
        Attribution.case_id == case_id, Attribution.model_version_id == model_version_id,
        Attribution.settings_key == settings_key))


def put_attribution(session: Session, case_id: int, model_version_id: int, settings_key: str,
                    data: dict) -> None:
    """Cache an explanation; a concurrent writer of the same key wins, both were equal."""
    if get_attribution(session, case_id, model_version_id, settings_key) is None:
        session.add(Attribution(case_id=case_id, model_version_id=model_version_id,
                                settings_key=settings_key, data=data))
        session.flush()


EXPLAIN_STEPS = 50


# Word segmentation of texts with Chinese characters, in the key of those texts only: version 1
# merges Han characters into jieba words (before it, each character was a word). A text without
# Han characters is merged exactly as before, so its cached attributions keep their old key and
# stay valid; a Chinese text's cache under the old key is never read again, and is recomputed.
HAN_WORDS = "zh1"


def _key(n_steps: int, max_length: int, text: str, blend: bool = False) -> str:
    from rsad.model.words import has_han

    # ":lex": a blended version's words also carry the bag of words' share (rsad.model.explain_blend),
    # never to be mixed up with the transformer's alone
    return (f"lig:n{n_steps}:len{max_length}" + (f":{HAN_WORDS}" if has_han(text) else "")
            + (":lex" if blend else ""))


def explanation_key(store: Store, version: Any, text: str, n_steps: int = EXPLAIN_STEPS) -> str:
    """The cache key of a text's attributions under a version: steps, the length the model reads
    (the version's own max_length, as :func:`rsad.model.versions.load_classifier` uses it), for
    Chinese text how its characters were merged into words, and whether the version blends in a
    bag of words (its folder holds one, as the classifier loads it)."""
    max_length = int((version.train_config or {}).get("max_length", store.settings.max_length))
    return _key(n_steps, max_length, text, (Path(version.folder) / LEXICAL_FILE).is_file())


def cached_explanation(store: Store, case_id: int, *, n_steps: int = EXPLAIN_STEPS,
                       version: str | None = None) -> dict[str, Any] | None:
    """The cached attributions of a case under the active model (or ``version``), or None: no model needed."""
    from rsad.model.explain import Explanation

    with store.session() as s:
        mv = versions.get_model_version(s, version or None, project_id=store.project_id)
        text = s.get(Case, case_id).text
        cached = get_attribution(s, case_id, mv.id, explanation_key(store, mv, text, n_steps))
        if cached is None:
            return None
        return {"explanation": Explanation.from_dict(cached), "cached": True, "text": text}


# One attribution computation at a time per process: two at once on 2 cores only thrash the
# caches and double the memory, and a page waiting for a case the explain-ahead job is already
# computing then finds it cached instead of computing it a second time.
_EXPLAIN_LOCK = threading.Lock()


def explanation(store: Store, case_id: int, classifier: Any, *, n_steps: int = EXPLAIN_STEPS,
                version: str | None = None, wanted: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Token attributions of a case under the active model (or ``version``), cached in the store.

    ``wanted``: asked once the computation may start (after waiting for another one); False
    raises :class:`Superseded` instead of computing, e.g. for a page run the analyst has
    already left for the next case.
    """
    from rsad.model.explain import Explanation, explain

    blend = getattr(classifier, "lexical", None) is not None

    def lookup() -> tuple[Any, dict[str, Any] | None, str]:
        with store.session() as s:
            mv = versions.get_model_version(s, version or None, project_id=store.project_id)
            if classifier.name and classifier.name != mv.name:
                raise StateError(_("The active model changed while this page was open: reload the page."))
            text = s.get(Case, case_id).text
            return mv.id, get_attribution(s, case_id, mv.id, _key(n_steps, classifier.max_length, text, blend)), text

    version_id, cached, text = lookup()
    if cached is None:
        with _EXPLAIN_LOCK:
            version_id, cached, text = lookup()  # computed meanwhile by whoever held the lock?
            if cached is None:
                if wanted is not None and not wanted():
                    raise Superseded(_("Attributions for this case are no longer needed: a newer request replaced it."))
                # The default setting stops early once converged, under the same key: its 1 % bound is
                # stricter than the 5 % the page warns at, so it stands for a 50-step one (0028).
                expl = explain(classifier, text, n_steps=n_steps, early_stop=n_steps == EXPLAIN_STEPS)
                try:
                    with store.session() as s:
                        put_attribution(s, case_id, version_id, _key(n_steps, classifier.max_length, text, blend),
                                        expl.to_dict())
                except IntegrityError:
                    pass  # another process (or analyst) stored the same case first
                return {"explanation": expl, "cached": False, "text": text}
    return {"explanation": Explanation.from_dict(cached), "cached": True, "text": text}
