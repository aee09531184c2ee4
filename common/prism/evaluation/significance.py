"""Paired significance tests of the paper (section 4.6) and its significance stars.

- :func:`delong_test`: DeLong et al. (1988) test for two correlated AUCs on the same cases, in the fast
  O(N log N) form of Sun & Xu (2014, IEEE Signal Processing Letters 21(11)) built on mid-ranks.
- :func:`wilcoxon_test`: Wilcoxon signed-rank test of paired per-case scores, by :func:`scipy.stats.wilcoxon`
  (two-sided, zero differences dropped, scipy's automatic exact/normal choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata, wilcoxon

from prism.evaluation._checks import as_finite_array, check_same_length
from prism.evaluation.metrics import check_binary_labels

__all__ = ["DeLongResult", "WilcoxonResult", "delong_test", "delong_covariance", "wilcoxon_test", "stars"]


@dataclass(frozen=True)
class DeLongResult:
    """AUCs of the two models, their difference ``auc_a - auc_b``, its variance, z statistic and two-sided p."""

    auc_a: float
    auc_b: float
    difference: float
    variance: float
    z: float
    p_value: float


@dataclass(frozen=True)
class WilcoxonResult:
    """Signed-rank statistic, two-sided p-value, and the number of non-zero paired differences used."""

    statistic: float
    p_value: float
    n_nonzero: int


def delong_covariance(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their DeLong covariance matrix for several models scored on the same cases.

    Args:
        y_true: (N,) 0/1 labels with both classes present.
        scores: (K, N) scores of K models (higher means more likely positive).

    Returns:
        ``(aucs, covariance)`` of shapes (K,) and (K, K).
    """
    truth = as_finite_array(y_true, "y_true", ndim=1)
    check_binary_labels(truth)
    score = as_finite_array(scores, "scores", ndim=2)
    if score.shape[1] != len(truth):
        raise ValueError(f"scores has {score.shape[1]} cases but y_true has {len(truth)}.")
    positive = truth == 1
    m, n = int(positive.sum()), int((~positive).sum())
    if m == 0 or n == 0:
        raise ValueError(f"AUC-ROC is undefined with a single class ({m} positives, {n} negatives).")
    x, y = score[:, positive], score[:, ~positive]
    # Mid-ranks within positives (tx), within negatives (ty) and over all cases (tz) (Sun & Xu, eq. 9-12).
    tx, ty = rankdata(x, axis=1), rankdata(y, axis=1)
    tz = rankdata(np.concatenate([x, y], axis=1), axis=1)
    aucs = (tz[:, :m].sum(axis=1) - m * (m + 1) / 2.0) / (m * n)
    v10 = (tz[:, :m] - tx) / n  # structural component of each positive case
    v01 = 1.0 - (tz[:, m:] - ty) / m  # structural component of each negative case
    covariance = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, covariance


def delong_test(y_true: Any, score_a: Any, score_b: Any) -> DeLongResult:
    """Two-sided DeLong test of AUC(a) = AUC(b) for two models scored on the same cases.

    Identical rankings give a zero difference with zero variance; that is reported as z = 0, p = 1.
    """
    a = as_finite_array(score_a, "score_a", ndim=1)
    b = as_finite_array(score_b, "score_b", ndim=1)
    check_same_length(a, b, ("score_a", "score_b"))
    aucs, cov = delong_covariance(y_true, np.stack([a, b]))
    difference = float(aucs[0] - aucs[1])
    variance = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    if variance <= 1e-15:
        if abs(difference) > 1e-12:
            raise ValueError("DeLong test: the AUC difference has zero variance but is not zero; too few cases.")
        return DeLongResult(float(aucs[0]), float(aucs[1]), difference, variance, 0.0, 1.0)
    z = difference / np.sqrt(variance)
    return DeLongResult(float(aucs[0]), float(aucs[1]), difference, variance, float(z), float(2.0 * norm.sf(abs(z))))


def wilcoxon_test(values_a: Any, values_b: Any) -> WilcoxonResult:
    """Two-sided Wilcoxon signed-rank test of paired per-case values (e.g. Dice or 0/1 correctness).

    Zero differences are dropped (Wilcoxon's original treatment). When every difference is zero the two models
    agree on every case: p = 1.
    """
    a = as_finite_array(values_a, "values_a", ndim=1)
    b = as_finite_array(values_b, "values_b", ndim=1)
    check_same_length(a, b, ("values_a", "values_b"))
    nonzero = int(np.count_nonzero(a - b))
    if nonzero == 0:
        return WilcoxonResult(0.0, 1.0, 0)
    result = wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    return WilcoxonResult(float(result.statistic), float(result.pvalue), nonzero)


def stars(p_value: float) -> str:
    """``"***"`` for p < 0.001, ``"**"`` for p < 0.01, ``"*"`` for p < 0.05, else ``"n.s."``."""
    if not 0.0 <= p_value <= 1.0:
        raise ValueError(f"p-value must be in [0, 1], got {p_value}.")
    if p_value < 0.001:
        return "***"
    if p_value < 0.01:
        return "**"
    if p_value < 0.05:
        return "*"
    return "n.s."
