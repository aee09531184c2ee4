"""Per-case metrics against independent figures (numpy formulas, scikit-learn) and their edge cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, mean_absolute_error as sk_mae, roc_auc_score

from prism.evaluation.metrics import (
    absolute_errors,
    accuracy,
    auc_rank,
    auc_roc,
    correct_per_case,
    dice_per_case,
    mean_absolute_error,
)


def _dice_numpy(pred: np.ndarray, target: np.ndarray, label: int) -> float:
    a, b = pred == label, target == label
    if a.sum() + b.sum() == 0:
        return 1.0
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_dice_matches_formula_per_case_and_class():
    rng = np.random.default_rng(0)
    pred = rng.integers(0, 3, (3, 16, 16, 16))
    target = rng.integers(0, 3, (3, 16, 16, 16))
    scores = dice_per_case(pred, target, num_classes=3)
    assert scores.shape == (3, 2)
    expected = [[_dice_numpy(pred[i], target[i], c) for c in (1, 2)] for i in range(3)]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    with_background = dice_per_case(
        torch.as_tensor(pred), torch.as_tensor(target), num_classes=3, include_background=True
    )
    np.testing.assert_allclose(with_background[:, 0], [_dice_numpy(pred[i], target[i], 0) for i in range(3)], atol=1e-6)


def test_dice_empty_masks():
    empty = np.zeros((1, 8, 8, 8), dtype=np.int64)
    one_voxel = empty.copy()
    one_voxel[0, 1, 1, 1] = 1
    np.testing.assert_array_equal(dice_per_case(empty, empty, num_classes=2), [[1.0]])  # both empty: 1
    np.testing.assert_array_equal(dice_per_case(one_voxel, empty, num_classes=2), [[0.0]])  # false positive
    np.testing.assert_array_equal(dice_per_case(empty, one_voxel, num_classes=2), [[0.0]])  # missed
    # a class absent from both, another one present: per-class values 1 and the overlap
    target = np.zeros((1, 4, 4), dtype=np.int64)
    target[0, :2] = 1
    np.testing.assert_allclose(dice_per_case(target, target, num_classes=3), [[1.0, 1.0]])


def test_dice_bad_inputs():
    labels = np.zeros((1, 4, 4))
    with pytest.raises(ValueError, match="NaN"):
        dice_per_case(np.full((1, 4, 4), np.nan), labels, num_classes=2)
    with pytest.raises(ValueError, match="shape"):
        dice_per_case(np.zeros((1, 4, 5)), labels, num_classes=2)
    with pytest.raises(ValueError, match="integer labels"):
        dice_per_case(np.full((1, 4, 4), 3), labels, num_classes=2)


def test_accuracy_binary_multiclass_multilabel():
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 2, 50)
    prob = rng.random(50)
    assert accuracy(truth, prob) == pytest.approx(accuracy_score(truth, prob >= 0.5))
    assert accuracy(truth, prob, threshold=0.3) == pytest.approx(accuracy_score(truth, prob >= 0.3))
    truth3 = rng.integers(0, 3, 60)
    probs3 = rng.dirichlet(np.ones(3), 60)
    assert accuracy(truth3, probs3) == pytest.approx(accuracy_score(truth3, probs3.argmax(1)))
    labels3 = probs3.argmax(1)
    np.testing.assert_array_equal(correct_per_case(truth3, labels3), (truth3 == labels3).astype(float))
    multi_truth = rng.integers(0, 2, (40, 4))
    multi_prob = rng.random((40, 4))
    assert accuracy(multi_truth, multi_prob) == pytest.approx(accuracy_score(multi_truth, multi_prob >= 0.5))
    hamming = correct_per_case(multi_truth, multi_prob, multilabel="hamming")
    np.testing.assert_allclose(hamming, ((multi_prob >= 0.5) == multi_truth).mean(1))


def test_accuracy_nan_and_shape_errors():
    with pytest.raises(ValueError, match="y_pred: contains 1 NaN"):
        accuracy([0, 1], [0.2, np.nan])
    with pytest.raises(ValueError, match="paired"):
        accuracy([0, 1, 1], [0, 1])


def test_auc_matches_sklearn_binary_with_ties_and_multiclass():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 2, 80)
    tied = np.round(truth * 0.4 + rng.random(80), 1)  # many ties
    assert auc_roc(truth, tied) == pytest.approx(roc_auc_score(truth, tied), abs=1e-12)
    assert float(auc_rank(truth, tied)) == pytest.approx(roc_auc_score(truth, tied), abs=1e-12)
    assert auc_roc(truth, np.stack([1 - tied, tied], 1)) == pytest.approx(roc_auc_score(truth, tied), abs=1e-12)
    truth3 = np.arange(90) % 3
    probs3 = rng.dirichlet(np.ones(3), 90)
    assert auc_roc(truth3, probs3) == pytest.approx(roc_auc_score(truth3, probs3, multi_class="ovr"), abs=1e-12)
    assert auc_roc([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5  # all tied


def test_auc_single_class_and_nan_are_clear_errors():
    with pytest.raises(ValueError, match="only class \\[1\\] is present"):
        auc_roc([1, 1, 1], [0.2, 0.4, 0.9])
    with pytest.raises(ValueError, match="single class"):
        auc_rank(np.array([0, 0]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="NaN"):
        auc_roc([0, 1, 1], [0.2, np.nan, 0.9])


def test_mae_matches_sklearn():
    rng = np.random.default_rng(3)
    age, pred = rng.uniform(20, 80, 30), rng.uniform(20, 80, 30)
    assert mean_absolute_error(age, pred) == pytest.approx(sk_mae(age, pred))
    np.testing.assert_allclose(absolute_errors(age, pred), np.abs(age - pred))
    with pytest.raises(ValueError, match="NaN"):
        mean_absolute_error([1.0, np.inf], [1.0, 2.0])
