"""Per-case metrics of the paper (section 4.4): Dice, accuracy, AUC-ROC and absolute error.

Each function returns per-case values where the metric has them, so the same numbers feed the table means,
the bootstrap confidence intervals and the paired significance tests. Implementations:

- Dice: :func:`monai.metrics.compute_dice` (the function behind ``DiceMetric``) with ``ignore_empty=False``,
  which gives 1.0 when reference and prediction are both empty and 0.0 when only one of them is.
- AUC-ROC: :func:`sklearn.metrics.roc_auc_score`; :func:`auc_rank` is a vectorised Mann-Whitney form of the same
  number used inside bootstrap loops (tests check that the two agree).
- Accuracy and absolute error: numpy, from their definitions.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from monai.metrics import compute_dice
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from prism.evaluation._checks import as_finite_array, check_same_length

__all__ = [
    "dice_per_case",
    "correct_per_case",
    "accuracy",
    "auc_roc",
    "auc_rank",
    "absolute_errors",
    "mean_absolute_error",
    "check_binary_labels",
]


def dice_per_case(pred: Any, target: Any, num_classes: int, include_background: bool = False) -> np.ndarray:
    """Dice score of every case and class from integer label maps.

    A class that is absent from both the reference and the prediction of a case scores 1.0 (nothing to find,
    nothing found); absent from only one of them it scores 0.0. This is MONAI's ``ignore_empty=False``.

    Args:
        pred: predicted label map, shape (batch, spatial_1[, spatial_2, ...]), values in [0, num_classes).
        target: reference label map, same shape as ``pred``.
        num_classes: number of classes including background (label 0).
        include_background: also score label 0.

    Returns:
        array of shape (batch, num_classes - 1) (or (batch, num_classes) with background): Dice per case and class.
        Its mean over axis 1 is the per-case mean Dice.
    """
    pred_array = as_finite_array(pred, "pred")
    target_array = as_finite_array(target, "target")
    if pred_array.shape != target_array.shape:
        raise ValueError(f"pred has shape {pred_array.shape} but target has shape {target_array.shape}.")
    if pred_array.ndim < 2:
        raise ValueError(f"pred/target: expected (batch, spatial...) label maps, got shape {pred_array.shape}.")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2 (background and one class), got {num_classes}.")
    for name, array in (("pred", pred_array), ("target", target_array)):
        if np.any(array != np.round(array)) or array.min() < 0 or array.max() >= num_classes:
            raise ValueError(f"{name}: expected integer labels in [0, {num_classes}), got values outside.")
    scores = compute_dice(
        torch.as_tensor(pred_array[:, None], dtype=torch.int64),
        torch.as_tensor(target_array[:, None], dtype=torch.int64),
        include_background=include_background,
        ignore_empty=False,
        num_classes=num_classes,
    )
    return scores.numpy().astype(np.float64)


def _as_labels(values: np.ndarray, name: str) -> np.ndarray:
    if np.any(values != np.round(values)):
        raise ValueError(f"{name}: expected integer class labels, got non-integer values.")
    return values.astype(np.int64)


def correct_per_case(
    y_true: Any,
    y_pred: Any,
    threshold: float = 0.5,
    multilabel: Literal["subset", "hamming"] = "subset",
) -> np.ndarray:
    """Per-case correctness (1.0 right, 0.0 wrong), whose mean is the accuracy.

    The task is read from the shapes:

    - binary / multi-class with labels: ``y_true`` (N,) and ``y_pred`` (N,) integer labels;
    - binary with probabilities: ``y_pred`` (N,) non-integer scores in [0, 1], thresholded at ``threshold``;
    - multi-class with probabilities: ``y_pred`` (N, K), the arg-max is the prediction;
    - multi-label: ``y_true`` (N, L) 0/1 and ``y_pred`` (N, L) 0/1 or probabilities (thresholded). ``"subset"``
      counts a case right only when all L labels are right; ``"hamming"`` gives the fraction of right labels.

    Returns:
        array of shape (N,).
    """
    truth = as_finite_array(y_true, "y_true", ndim=(1, 2))
    pred = as_finite_array(y_pred, "y_pred", ndim=(1, 2))
    check_same_length(truth, pred, ("y_true", "y_pred"))
    if truth.ndim == 2:
        if pred.shape != truth.shape:
            raise ValueError(f"multi-label: y_true has shape {truth.shape} but y_pred has shape {pred.shape}.")
        if multilabel not in ("subset", "hamming"):
            raise ValueError(f"multilabel must be 'subset' or 'hamming', got {multilabel!r}.")
        check_binary_labels(truth.ravel(), "y_true")
        hits = (pred >= threshold) == (truth == 1)
        return hits.all(axis=1).astype(np.float64) if multilabel == "subset" else hits.mean(axis=1)
    labels = _as_labels(truth, "y_true")
    if pred.ndim == 2:
        predicted = pred.argmax(axis=1)
    elif np.all(pred == np.round(pred)):
        predicted = pred.astype(np.int64)
    else:
        if pred.min() < 0 or pred.max() > 1:
            raise ValueError("y_pred: non-integer 1-D predictions must be probabilities in [0, 1].")
        check_binary_labels(labels, "y_true")
        predicted = (pred >= threshold).astype(np.int64)
    return (predicted == labels).astype(np.float64)


def accuracy(
    y_true: Any, y_pred: Any, threshold: float = 0.5, multilabel: Literal["subset", "hamming"] = "subset"
) -> float:
    """Accuracy in [0, 1]: the mean of :func:`correct_per_case` (same arguments)."""
    return float(correct_per_case(y_true, y_pred, threshold=threshold, multilabel=multilabel).mean())


def check_binary_labels(y_true: np.ndarray, name: str = "y_true") -> None:
    """Raise ``ValueError`` unless ``y_true`` holds only 0 and 1."""
    values = np.unique(y_true)
    if not np.all(np.isin(values, (0, 1))):
        raise ValueError(f"{name}: binary labels must be 0 or 1, got values {values[:10].tolist()}.")


def auc_roc(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve, by scikit-learn.

    Args:
        y_true: (N,) labels; 0/1 for binary, 0..K-1 for multi-class.
        y_score: (N,) score of the positive class (binary), or (N, K) class probabilities (multi-class,
            macro one-vs-rest AUC; rows must sum to 1).

    Raises:
        ValueError: when only one class is present (the AUC is undefined) or inputs hold NaN.
    """
    truth = _as_labels(as_finite_array(y_true, "y_true", ndim=1), "y_true")
    score = as_finite_array(y_score, "y_score", ndim=(1, 2))
    check_same_length(truth, score, ("y_true", "y_score"))
    present = np.unique(truth)
    if len(present) < 2:
        raise ValueError(
            f"AUC-ROC is undefined: only class {present.tolist()} is present in y_true ({len(truth)} cases); "
            "it needs at least one positive and one negative case."
        )
    if score.ndim == 1:
        check_binary_labels(truth)
        return float(roc_auc_score(truth, score))
    if score.shape[1] == 2 and set(present.tolist()) <= {0, 1}:
        return float(roc_auc_score(truth, score[:, 1]))
    if len(present) != score.shape[1]:
        raise ValueError(
            f"multi-class AUC needs every one of the {score.shape[1]} classes in y_true; present: {present.tolist()}."
        )
    return float(roc_auc_score(truth, score, multi_class="ovr", average="macro", labels=np.arange(score.shape[1])))


def auc_rank(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """Binary AUC along the last axis by the Mann-Whitney rank formula (ties count one half).

    Vectorised for bootstrap loops: ``y_true`` and ``y_score`` have shape (..., N); every row must contain both
    classes. Returns an array of shape (...).
    """
    positive = y_true == 1
    n_pos = positive.sum(axis=-1)
    n_neg = positive.shape[-1] - n_pos
    if np.any(n_pos == 0) or np.any(n_neg == 0):
        raise ValueError("AUC-ROC is undefined for a sample with a single class.")
    ranks = rankdata(y_score, axis=-1)
    rank_sum = np.where(positive, ranks, 0.0).sum(axis=-1)
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def absolute_errors(y_true: Any, y_pred: Any) -> np.ndarray:
    """Per-case absolute error ``|y_pred - y_true|``, shape (N,)."""
    truth = as_finite_array(y_true, "y_true", ndim=1)
    pred = as_finite_array(y_pred, "y_pred", ndim=1)
    check_same_length(truth, pred, ("y_true", "y_pred"))
    return np.abs(pred - truth)


def mean_absolute_error(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error (same units as the targets, e.g. years for age)."""
    return float(absolute_errors(y_true, y_pred).mean())
