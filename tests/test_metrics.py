import numpy as np
import pytest
from sklearn import metrics as skm

from rsad.errors import InputError
from rsad.evaluation.metrics import (
    at_threshold,
    binary_metrics,
    classification_report,
    default_threshold,
    max_f1_threshold,
)


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.clip(y * 0.3 + rng.random(300) * 0.7, 0, 1)
    m = binary_metrics(y, s, 0.5)
    pred = (s >= 0.5).astype(int)
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, s))
    assert m["pr_auc"] == pytest.approx(skm.average_precision_score(y, s))
    assert m["flagged_rate"] == pytest.approx(pred.mean())
    assert "anomaly" in classification_report(y, s, 0.5)


def test_max_f1_threshold_hand_checked():
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.3, 0.35, 0.8, 0.4, 0.9])
    # Flag >= 0.35: TP 3, FP 1 -> F1 0.857, the best of all cut points.
    assert max_f1_threshold(y, s) == pytest.approx(0.35)
    assert binary_metrics(y, s, 0.35)["f1"] == pytest.approx(6 / 7)


def test_edge_cases():
    assert max_f1_threshold(np.array([1, 1]), np.array([0.2, 0.9])) == 0.5
    one_class = binary_metrics(np.array([0, 0]), np.array([0.2, 0.9]), 0.5)
    assert np.isnan(one_class["roc_auc"]) and one_class["flagged_rate"] == 0.5
    with pytest.raises(InputError, match="no labeled cases"):
        binary_metrics(np.array([]), np.array([]), 0.5)
    with pytest.raises(InputError, match="same length"):
        binary_metrics(np.array([0, 1]), np.array([0.5]), 0.5)


def test_default_threshold_leaves_the_edge_of_a_flat_f1_range():
    rng = np.random.default_rng(1)
    # Clear normals (< 0.1) and anomalies (> 0.9); between them alternating labels keep F1 within
    # 0.01 of the best anywhere from 0.12 to 0.9, and one anomaly at 0.12 puts the best point at the edge.
    y = np.r_[np.zeros(100), np.ones(100), np.arange(15) % 2, [1]]
    s = np.r_[rng.uniform(0, 0.1, 100), rng.uniform(0.9, 1, 100), np.linspace(0.15, 0.85, 15), 0.12]
    assert max_f1_threshold(y, s) == pytest.approx(0.12)
    chosen = default_threshold(y, s)
    assert chosen == 0.5
    assert at_threshold(y, s, chosen)["f1"] >= at_threshold(y, s, 0.12)["f1"] - 0.01
    # With no tolerance only cuts as good as the best point qualify.
    exact = default_threshold(y, s, tolerance=0.0)
    assert at_threshold(y, s, exact)["f1"] == pytest.approx(at_threshold(y, s, 0.12)["f1"])


def test_default_threshold_stays_near_the_best_f1_when_0_5_is_poor():
    # Normals up to 0.9, anomalies from 0.95: a cut at 0.5 flags 22 normals (F1 0.82).
    y = np.r_[np.zeros(50), np.ones(50)]
    s = np.r_[np.linspace(0.0, 0.9, 50), np.linspace(0.95, 1.0, 50)]
    assert default_threshold(y, s) == pytest.approx(0.9)  # flags one normal: F1 100/101, within 0.01
    assert default_threshold(y, s, tolerance=0.001) == pytest.approx(0.95)
    assert at_threshold(y, s, default_threshold(y, s, tolerance=0.001))["f1"] == 1.0
    # A gap around 0.5: any cut in it is perfect, and 0.5 is one of them.
    gap = np.r_[np.linspace(0.0, 0.3, 50), np.linspace(0.8, 1.0, 50)]
    assert default_threshold(y, gap) == 0.5
    assert default_threshold(np.array([1, 1]), np.array([0.2, 0.9])) == 0.5
    with pytest.raises(InputError, match="same length"):
        default_threshold(np.array([0, 1]), np.array([0.5]))
    with pytest.raises(InputError, match="1 of 2 scores are missing"):
        default_threshold(np.array([0, 1]), np.array([0.5, np.nan]))
