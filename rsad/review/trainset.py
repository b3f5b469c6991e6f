"""The training set the store gives: seed labels plus analyst verdicts, under one stated rule.

The rule (:func:`rsad.review.labels.resolve_votes`): each analyst's latest verdict on a case counts;
'unsure' and the 'insufficient evidence' reason give no label; analysts who disagree are
settled by majority, a tie by the newest verdict. A reviewed case with no label left keeps
its seed label if it has one and is left out otherwise. The rows are sorted by case so the
same store gives the same set, split and hash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rsad.errors import InputError
from rsad.i18n import _
from rsad.model.card import TRAINING_SET_FILE
from rsad.review import labels

ROW_COLUMNS = ["id", "text", "label", "source", "case_pk", "case_id", "batch"]
CONFLICT_COLUMNS = ["case_pk", "case_id", "batch", "votes", "label", "rule"]


def data_hash(table: pd.DataFrame) -> str:
    """Hash of the exact (id, label, text) set, order-independent."""
    rows = sorted(zip(table["id"].astype(str), table["label"].astype(int), table["text"]))
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False).encode()).hexdigest()


def case_key(case_id: str, batch: str) -> str:
    """A case's id in training data: external ids are unique per batch only."""
    return f"{case_id}@{batch}"


@dataclass
class TrainingSet:
    rows: pd.DataFrame  # ROW_COLUMNS, one row per case, sorted by case
    conflicts: pd.DataFrame  # CONFLICT_COLUMNS: cases whose analysts disagree, and how it was settled
    overturned: int  # seed labels an analyst verdict changed
    abstained_seed_kept: int  # only 'unsure' / 'insufficient evidence' verdicts: seed label kept
    abstained_dropped: int  # ... and no seed label: left out

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def hash(self) -> str:
        return data_hash(self.rows) if len(self.rows) else ""

    def table(self) -> pd.DataFrame:
        """(id, text, label): what :func:`rsad.training.fine_tune.fine_tune` takes."""
        if self.rows.empty:
            raise InputError(_("This project has no labeled cases yet: upload a labeled batch or record verdicts."))
        return self.rows[["id", "text", "label"]].reset_index(drop=True)

    def counts(self) -> pd.DataFrame:
        """Cases by source (seed, verdict, all) and class."""
        out = []
        for source in ("seed", "verdict"):
            part = self.rows[self.rows["source"] == source]
            out.append({"source": source, "normal": int((part["label"] == 0).sum()),
                        "anomaly": int((part["label"] == 1).sum()), "total": len(part)})
        out.append({"source": "all", "normal": int((self.rows["label"] == 0).sum()),
                    "anomaly": int((self.rows["label"] == 1).sum()), "total": len(self.rows)})
        return pd.DataFrame(out)

    def summary(self) -> dict[str, Any]:
        """What a version card records about the set it was trained on."""
        by = {r["source"]: {"normal": r["normal"], "anomaly": r["anomaly"]} for r in self.counts().to_dict("records")}
        return {"n": len(self), "hash": self.hash, "by_source": by, "conflicts": len(self.conflicts),
                "overturned": self.overturned, "abstained_seed_kept": self.abstained_seed_kept,
                "abstained_dropped": self.abstained_dropped, "file": TRAINING_SET_FILE,
                "rule": "each analyst's latest verdict; unsure / insufficient evidence abstain; "
                        "disagreements by majority, ties by the latest verdict"}

    def describe(self) -> str:
        c = {r["source"]: r for r in self.counts().to_dict("records")}
        return _("{n:,} cases ({anomalies:,} anomalies, {normal:,} normal): "
                 "{seed:,} seed labels, {verdicts:,} from verdicts "
                 "({overturned:,} overturning a seed label); {conflicts:,} conflicts "
                 "settled; {dropped:,} left out as unsure or insufficient evidence").format(
                     n=len(self), anomalies=c["all"]["anomaly"], normal=c["all"]["normal"], seed=c["seed"]["total"],
                     verdicts=c["verdict"]["total"], overturned=self.overturned, conflicts=len(self.conflicts),
                     dropped=self.abstained_dropped)

    def batch_schema(self) -> pd.DataFrame:
        """The rows as a batch file: `rsad train --data` on it trains on exactly this set."""
        return pd.DataFrame({"case_id": self.rows["id"], "behavior_description": self.rows["text"],
                             "is_anomaly": self.rows["label"], "label_source": self.rows["source"]})


def _votes_text(votes: list[tuple[int, str, str, str]]) -> str:
    return ", ".join(f"{a}: {label}" + (f" ({reason})" if reason else "") for _v, a, label, reason in votes)


def from_evidence(evidence: list[dict[str, Any]]) -> TrainingSet:
    """Build the set from :func:`rsad.review.labels.label_evidence` rows."""
    rows, conflicts = [], []
    overturned = kept = dropped = 0
    for r in evidence:
        if r["rule"] == "abstained":
            if r["is_anomaly"] is None:
                dropped += 1
            else:
                kept += 1
        if r["is_anomaly"] is None:
            continue
        label = int(r["is_anomaly"])
        if r["label_source"] == "verdict" and r["seed"] is not None and int(r["seed"]) != label:
            overturned += 1
        if r["rule"] in ("majority", "tie: latest"):
            conflicts.append({"case_pk": r["case_pk"], "case_id": r["case_id"], "batch": r["batch"],
                              "votes": _votes_text(r["votes"]), "label": "anomaly" if label else "normal",
                              "rule": r["rule"]})
        rows.append({"id": case_key(r["case_id"], r["batch"]), "text": r["behavior_description"],
                     "label": label, "source": r["label_source"], "case_pk": r["case_pk"],
                     "case_id": r["case_id"], "batch": r["batch"]})
    frame = pd.DataFrame(rows, columns=ROW_COLUMNS).sort_values("case_pk", kind="stable").reset_index(drop=True)
    return TrainingSet(frame, pd.DataFrame(conflicts, columns=CONFLICT_COLUMNS), overturned, kept, dropped)


def assemble(store: Any) -> TrainingSet:
    """The store's current training set (one read transaction)."""

    with store.session() as s:
        return from_evidence(labels.label_evidence(s, project_id=store.project_id))
