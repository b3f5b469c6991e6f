"""The card saved beside a version's weights (``rsad_model.json``), and the training config in it.

The card holds everything needed to reload and judge a version without the database: its
training config, label map, data hash, metrics, threshold and the ids it was trained and
validated on (so later evaluation can leave them out). Plain data: no torch here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rsad.config import TRUNCATIONS
from rsad.errors import InputError, ModelError, NotFoundError
from rsad.i18n import _

CARD_FILE = "rsad_model.json"
CARD_FORMAT = 1
STARTER_RECIPE = "frozen encoder + logistic head"  # TrainConfig.recipe of rsad.training.starter's versions
TRAINING_SET_FILE = "training_set.csv"  # written into each version folder, in the batch schema
LABEL2ID = {"normal": 0, "anomaly": 1}
ID2LABEL = {v: k for k, v in LABEL2ID.items()}


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved in the version's rsad_model.json."""

    base_model: str = ""  # HF folder or hub id; empty = settings' base model
    init_from: str | None = None  # a version name to continue from, or None for base_model
    # 4, not 3: validation PR-AUC was still rising at epoch 3; early stopping keeps the best epoch
    # (docs/decisions/0014-fine-tuning-defaults.md).
    epochs: int = 4
    # A small training split gets more epochs, up to this many optimizer steps in all: 4 epochs of
    # 200 rows are 52 steps, too few to move the transformer (docs/decisions/0021-lexical-blend.md).
    min_steps: int = 160
    batch_size: int = 16
    # 5e-5, not 2e-5: higher validation PR-AUC at the same cost (docs/decisions/0014-fine-tuning-defaults.md).
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 128
    truncation: str = "head"  # texts over max_length: "head" or "head_tail" (see rsad.model.classifier.kept_positions)
    val_fraction: float = 0.2
    seed: int = 42
    class_weighting: bool = True  # anomalies are rare in real batches
    early_stopping_patience: int = 1  # epochs without a better validation PR-AUC
    max_grad_norm: float = 1.0
    # Batches of similar-length texts (less padding, same examples per epoch); see _batches.
    group_by_length: bool = True
    # Set on every dropout layer while training (the base model's config.json is saved unchanged).
    # 0, not BERT's 0.1: together with frozen word embeddings, higher validation PR-AUC and a
    # cheaper training forward pass (docs/decisions/0013-training-speed-recipe.md, 0014).
    dropout: float = 0.0
    # The word-embedding matrix is half of MiniLM's weights; keeping it as pretrained spares its
    # gradient and optimizer update every step (docs/decisions/0013-training-speed-recipe.md).
    freeze_word_embeddings: bool = True
    # Fit TF-IDF + logistic regression beside the transformer and keep the blend of both where
    # held-out validation cases say it predicts better (docs/decisions/0021-lexical-blend.md).
    lexical_blend: bool = True
    # How the version was made: "fine-tune" (the loop above), or the starter's "frozen encoder +
    # logistic head" (rsad.training.starter; docs/decisions/0028-first-minute.md).
    recipe: str = "fine-tune"  # or STARTER_RECIPE

    def validate(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.max_length < 8 or self.min_steps < 0:
            raise InputError(_("epochs and batch size must be at least 1, max length at least 8, "
                               "min steps at least 0."))
        if not 0.0 < self.val_fraction < 0.9:
            raise InputError(_("The validation fraction must be between 0 and 0.9."))
        if self.learning_rate <= 0:
            raise InputError(_("The learning rate must be positive."))
        if not 0.0 <= self.dropout < 1.0:
            raise InputError(_("Dropout must be at least 0 and below 1."))
        if self.truncation not in TRUNCATIONS:
            raise InputError(_("Unknown truncation {truncation!r}: use one of {TRUNCATIONS}.").format(
                                 truncation=self.truncation, TRUNCATIONS=', '.join(TRUNCATIONS)))


@dataclass
class TrainResult:
    """A trained model in memory, with what the registry needs to save it."""

    model: Any
    tokenizer: Any
    config: TrainConfig
    metrics: dict[str, Any]  # validation metrics, and "reference" (rsad.evaluation.drift.reference_profile)
    threshold: float
    data_hash: str
    train_ids: list[str]
    val_ids: list[str]
    class_counts: dict[str, int]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    lexical: Any = None  # rsad.model.lexical.Lexical when the blend was kept, saved as lexical.json


@dataclass
class VersionCard:
    name: str
    base_model: str
    train_config: dict[str, Any]
    data_hash: str
    metrics: dict[str, Any]
    threshold: float
    class_counts: dict[str, int]
    train_ids: list[str]
    val_ids: list[str]
    history: list[dict[str, float]] = field(default_factory=list)
    label_map: dict[str, str] = field(default_factory=lambda: {str(k): v for k, v in ID2LABEL.items()})
    train_seconds: float = 0.0
    device: str = "cpu"
    created_at: str = ""
    format: int = CARD_FORMAT
    # Store training only: counts, conflicts and hash of the set (rows in training_set.csv).
    training_set: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> TrainConfig:
        # Cards written before these settings existed trained every weight with the base
        # model's dropout (0.1 in the BERT family rsad shipped with), and blended nothing.
        return TrainConfig(**{"freeze_word_embeddings": False, "dropout": 0.1, "lexical_blend": False, "min_steps": 0,
                              **self.train_config})


def read_card(folder: str | Path) -> VersionCard:
    path = Path(folder) / CARD_FILE
    if not path.exists():
        raise NotFoundError(_("{folder} is not an rsad model version (no {CARD_FILE}).").format(
                                folder=folder, CARD_FILE=CARD_FILE))
    data = json.loads(path.read_text())
    if data.get("format") != CARD_FORMAT:
        raise ModelError(_("{path} has format {found}; this rsad reads format {CARD_FORMAT}.").format(
                             path=path, found=data.get('format'), CARD_FORMAT=CARD_FORMAT))
    return VersionCard(**data)
