import numpy as np
import pytest
from sklearn import metrics as skm

from rsad.errors import InputError
from rsad.metrics import binary_metrics, classification_report, max_f1_threshold


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
