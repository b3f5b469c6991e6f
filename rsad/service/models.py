"""Model versions for the pages and the CLI: the registry, promotion and rollback, rescoring,
training from a file, comparison and evaluation. Versions cross as :class:`VersionInfo`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rsad.evaluation.bootstrap import PairedBootstrap, verdict_line, verdict_word
from rsad.evaluation.evalset import evaluate_file
from rsad.model.card import TrainConfig
from rsad.model.versions import (
    VersionInfo,
    active_version,
    device_label,
    get_version,
    list_versions,
    load_classifier,
    trained_on,
)
from rsad.ops.compare import compare
from rsad.ops.lifecycle import Switch, history, promote, rollback
from rsad.ops.scoring import rescore, rescore_status
from rsad.review.trainset import TrainingSet
from rsad.review.trainset import assemble as training_set
from rsad.training.train import start_truncation, train_file

if TYPE_CHECKING:  # for annotations only: the classifier module imports torch
    from rsad.model.classifier import Classifier as Classifier

__all__ = [
    "PairedBootstrap",
    "Switch",
    "TrainingSet",
    "TrainConfig",
    "VersionInfo",
    "active_version",
    "compare",
    "device_label",
    "evaluate_file",
    "get_version",
    "history",
    "list_versions",
    "load_classifier",
    "promote",
    "rescore",
    "rescore_status",
    "rollback",
    "start_truncation",
    "train_file",
    "trained_on",
    "training_set",
    "verdict_line",
    "verdict_word",
]
