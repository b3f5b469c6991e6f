"""The evaluation set of one or more model versions: labeled cases none of them trained on.

A version's card lists the ids it trained and validated on (``ext@batch`` for store
training, the file's ids for file training). Its evaluation set is its validation cases plus
every case an analyst has labeled since, minus anything in its training data. Comparing two
versions uses the cases neither trained on. Scores missing from the store are computed once
and saved, so opening the thresholds page twice costs one scoring pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rsad.data import store as q
from rsad.data.db import Store
from rsad.data.ingest import ColumnMap, load_batch
from rsad.errors import InputError
from rsad.i18n import _
from rsad.model import versions
from rsad.model.card import read_card
from rsad.model.versions import get_version, load_classifier
from rsad.progress import ProgressFn, no_progress
from rsad.review import labels

MIN_EVAL_CASES = 10  # fewer than this and a curve is noise


@dataclass
class EvalSet:
    versions: list[str]
    case_pks: np.ndarray
    keys: list[str]
    labels: np.ndarray
    meta: list[dict[str, Any]]
    sources: dict[str, int]  # {"validation": n, "verdict": n}
    source: list[str]  # per case: "validation" or "verdict"
    scores: dict[str, np.ndarray] = field(default_factory=dict)  # version name -> scores

    def __len__(self) -> int:
        return len(self.labels)

    def describe(self) -> str:
        pos = int(self.labels.sum())
        return _("{n} labeled cases ({anomalies} anomalies, {normal} normal): "
                 "{validation} from validation, {verdicts} from analyst verdicts").format(
                     n=len(self), anomalies=pos, normal=len(self) - pos, validation=self.sources.get("validation", 0),
                     verdicts=self.sources.get("verdict", 0))


def _card_ids(folder: str) -> tuple[set[str], set[str]]:

    card = read_card(folder)
    return set(map(str, card.train_ids)), set(map(str, card.val_ids))


def _member(ext: str, key: str, ids: set[str]) -> bool:
    # A version trained from a file knows bare ids; one trained from the store knows ext@batch.
    return key in ids or ext in ids


def collect(store: Store, names: list[str | None]) -> EvalSet:
    """Labeled cases that none of ``names`` (None = active) trained on, without scores yet."""
    with store.session() as s:
        chosen = [versions.get_model_version(s, n, project_id=store.project_id) for n in names]
        info = [(v.name, v.folder) for v in chosen]
        rows = labels.current_labels(s, project_id=store.project_id)
    train: set[str] = set()
    val: set[str] = set()
    for _version, folder in info:  # not `_`: that is the catalog's function here
        t, v = _card_ids(folder)
        train |= t
        val |= v
    pks, keys, ys, meta, source = [], [], [], [], []
    sources = {"validation": 0, "verdict": 0}
    for r in rows:
        ext = str(r["case_id"])
        key = f"{ext}@{r['batch']}"
        if _member(ext, key, train):
            continue
        if _member(ext, key, val):
            kind = "validation"
        elif r["label_source"] == "verdict":
            kind = "verdict"
        else:
            continue  # a seed label nobody held out: not evidence for this version
        sources[kind] += 1
        source.append(kind)
        pks.append(r["case_pk"])
        keys.append(key)
        ys.append(int(r["is_anomaly"]))
        meta.append(r["meta"] or {})
    return EvalSet([n for n, _ in info], np.asarray(pks, dtype=int), keys,
                   np.asarray(ys, dtype=int), meta, sources, source)


def check_usable(ev: EvalSet) -> None:
    """Refuse an evaluation set that cannot give a curve, saying what to do about it."""
    who = " and ".join(ev.versions)
    if len(ev) < MIN_EVAL_CASES:
        raise InputError(
            _("Only {n_ev} labeled cases are available that {who} did not train on (at least {MIN_EVAL_CASES} "
              "are needed for a curve). Record more verdicts on the Review page, or upload a labeled batch the "
              "model has not seen.").format(n_ev=len(ev), who=who, MIN_EVAL_CASES=MIN_EVAL_CASES))
    pos = int(ev.labels.sum())
    if pos == 0 or pos == len(ev):
        missing = "anomaly" if pos == 0 else "normal"
        raise InputError(
            _("The {n_ev} labeled cases {who} did not train on contain no {missing} case, so no curve can be "
              "drawn. Record some '{missing}' verdicts first.").format(n_ev=len(ev), who=who, missing=missing))


def evaluate(store: Store, names: list[str | None], *, progress: ProgressFn = no_progress,
             check: bool = True) -> EvalSet:
    """The evaluation set with each version's scores; missing scores are computed and saved."""

    ev = collect(store, names)
    if check:
        check_usable(ev)
    for name in ev.versions:
        version = versions.get_version(store, name)
        with store.session() as s:
            known = q.scores_for_cases(s, version.id, ev.case_pks.tolist())
        missing = [pk for pk in ev.case_pks.tolist() if pk not in known]
        if missing:
            with store.session() as s:
                texts = q.case_texts(s, missing)
            clf = versions.load_classifier(store, version)
            new = clf.score([texts[pk] for pk in missing], batch_size=store.settings.score_batch_size,
                            progress=lambda d, t, _m, n=name: progress(
                                d, t, _("scoring evaluation cases with {name}").format(name=n)))
            with store.session() as s:
                q.put_scores(s, version.id, missing, new)
                s.commit()
            known.update(zip(missing, map(float, new)))
        ev.scores[name] = np.asarray([known[pk] for pk in ev.case_pks.tolist()], dtype=float)
    return ev


def evaluate_file(store: Store, path: str | Path, *, model: str | None = None,
                  columns: ColumnMap = ColumnMap(), split: tuple[str, str] | None = None,
                  threshold: float | None = None, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score a labeled file with a version and compare with its labels."""
    from rsad.evaluation.metrics import binary_metrics, classification_report

    prepared = load_batch(path, columns=columns, label_required=True, split=split)
    table = prepared.labeled_table()
    version = get_version(store, model)
    clf = load_classifier(store, version)
    scores = clf.score(table["text"].tolist(), batch_size=store.settings.score_batch_size,
                       progress=progress)
    thr = version.threshold if threshold is None else threshold
    y = table["label"].to_numpy()
    return {"model": version.name, "metrics": binary_metrics(y, scores, thr),
            "report": classification_report(y, scores, thr), "scores": scores, "labels": y}
