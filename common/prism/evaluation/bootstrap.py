"""Percentile bootstrap confidence intervals (paper section 4.6: 1000 resamples), vectorised and seeded.

Resampling is over cases: a resample draws N case indices with replacement, all at once as an
(n_resamples, N) index array. For AUC the resampling is stratified (positives and negatives resampled separately,
as R pROC does by default), so no resample lacks a class. Paired versions use the same indices for both models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from prism.evaluation._checks import as_finite_array, check_same_length
from prism.evaluation.metrics import auc_rank, check_binary_labels

__all__ = [
    "ConfidenceInterval",
    "PairedDifference",
    "bootstrap_indices",
    "stratified_bootstrap_indices",
    "bootstrap_ci",
    "bootstrap_auc_ci",
    "paired_bootstrap",
    "paired_bootstrap_auc",
]

Statistic = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ConfidenceInterval:
    """Point estimate (on all cases) and percentile interval [low, high]."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int


@dataclass(frozen=True)
class PairedDifference:
    """``estimate`` = statistic(a) - statistic(b) with its percentile interval and a two-sided bootstrap p-value."""

    estimate: float
    low: float
    high: float
    p_value: float
    confidence: float
    n_resamples: int


def _check_options(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be positive, got {n_resamples}.")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}.")


def bootstrap_indices(n_cases: int, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Case indices of every resample, shape (n_resamples, n_cases), from ``numpy.random.default_rng(seed)``."""
    if n_cases < 1:
        raise ValueError("bootstrap needs at least one case.")
    return np.random.default_rng(seed).integers(0, n_cases, size=(n_resamples, n_cases))


def stratified_bootstrap_indices(y_true: np.ndarray, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Resample positives and negatives separately; shape (n_resamples, N), each row keeps both class counts."""
    rng = np.random.default_rng(seed)
    positives = np.flatnonzero(y_true == 1)
    negatives = np.flatnonzero(y_true != 1)
    if len(positives) == 0 or len(negatives) == 0:
        raise ValueError("AUC-ROC is undefined: y_true holds a single class, so there is nothing to resample.")
    return np.concatenate(
        [
            positives[rng.integers(0, len(positives), size=(n_resamples, len(positives)))],
            negatives[rng.integers(0, len(negatives), size=(n_resamples, len(negatives)))],
        ],
        axis=1,
    )


def _interval(estimate: float, replicates: np.ndarray, confidence: float) -> tuple[float, float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail])
    return float(estimate), float(low), float(high)


def _mean(samples: np.ndarray) -> np.ndarray:
    return samples.mean(axis=-1)


def bootstrap_ci(
    values: Any,
    statistic: Statistic = _mean,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ConfidenceInterval:
    """Percentile bootstrap CI of a statistic of per-case values.

    Args:
        values: per-case values, shape (N,) (e.g. Dice, 0/1 correctness, absolute errors).
        statistic: maps resampled values of shape (..., N) to shape (...); default the mean.
        n_resamples: number of bootstrap resamples.
        confidence: coverage of the interval (0.95 for the paper's 95% CI).
        seed: seed of ``numpy.random.default_rng``; the same seed gives the same interval.
    """
    _check_options(n_resamples, confidence)
    data = as_finite_array(values, "values", ndim=1)
    replicates = statistic(data[bootstrap_indices(len(data), n_resamples, seed)])
    return ConfidenceInterval(*_interval(float(statistic(data)), replicates, confidence), confidence, n_resamples)


def _binary_inputs(y_true: Any, scores: list[Any]) -> tuple[np.ndarray, list[np.ndarray]]:
    truth = as_finite_array(y_true, "y_true", ndim=1)
    check_binary_labels(truth)
    arrays = []
    for index, score in enumerate(scores):
        array = as_finite_array(score, f"y_score[{index}]", ndim=1)
        check_same_length(truth, array, ("y_true", f"y_score[{index}]"))
        arrays.append(array)
    return truth, arrays


def bootstrap_auc_ci(
    y_true: Any, y_score: Any, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> ConfidenceInterval:
    """Stratified percentile bootstrap CI of a binary AUC-ROC. ``y_true`` (N,) 0/1, ``y_score`` (N,)."""
    _check_options(n_resamples, confidence)
    truth, (score,) = _binary_inputs(y_true, [y_score])
    index = stratified_bootstrap_indices(truth, n_resamples, seed)
    replicates = auc_rank(truth[index], score[index])
    return ConfidenceInterval(
        *_interval(float(auc_rank(truth, score)), replicates, confidence), confidence, n_resamples
    )


def _paired(estimate: float, replicates: np.ndarray, confidence: float, n_resamples: int) -> PairedDifference:
    # Two-sided percentile-bootstrap p-value: twice the smaller share of resampled differences on either side of
    # zero, with the +1 correction so that it is never exactly 0.
    below = (np.sum(replicates <= 0.0) + 1.0) / (n_resamples + 1.0)
    above = (np.sum(replicates >= 0.0) + 1.0) / (n_resamples + 1.0)
    p_value = float(min(1.0, 2.0 * min(below, above)))
    return PairedDifference(*_interval(estimate, replicates, confidence), p_value, confidence, n_resamples)


def paired_bootstrap(
    values_a: Any,
    values_b: Any,
    statistic: Statistic = _mean,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """Bootstrap of ``statistic(a) - statistic(b)`` for two models scored on the same cases (same resamples)."""
    _check_options(n_resamples, confidence)
    a = as_finite_array(values_a, "values_a", ndim=1)
    b = as_finite_array(values_b, "values_b", ndim=1)
    check_same_length(a, b, ("values_a", "values_b"))
    index = bootstrap_indices(len(a), n_resamples, seed)
    replicates = statistic(a[index]) - statistic(b[index])
    return _paired(float(statistic(a) - statistic(b)), replicates, confidence, n_resamples)


def paired_bootstrap_auc(
    y_true: Any, score_a: Any, score_b: Any, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> PairedDifference:
    """Stratified paired bootstrap of AUC(a) - AUC(b) on the same cases."""
    _check_options(n_resamples, confidence)
    truth, (a, b) = _binary_inputs(y_true, [score_a, score_b])
    index = stratified_bootstrap_indices(truth, n_resamples, seed)
    replicates = auc_rank(truth[index], a[index]) - auc_rank(truth[index], b[index])
    return _paired(float(auc_rank(truth, a) - auc_rank(truth, b)), replicates, confidence, n_resamples)
