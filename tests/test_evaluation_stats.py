"""Bootstrap intervals and significance tests against independent references.

- DeLong: an O(m*n) structural-components implementation written from DeLong, DeLong & Clarke-Pearson
  (Biometrics 1988, eq. 2-5), independent of the mid-rank algorithm of Sun & Xu used in the package.
- Wilcoxon: exact null distribution by enumerating all 2^n sign patterns, and scipy.
- Bootstrap: coverage of the 95% interval on simulated data, seeding, and agreement of point estimates.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import norm, wilcoxon
from sklearn.metrics import roc_auc_score

from prism.evaluation.bootstrap import (
    bootstrap_auc_ci,
    bootstrap_ci,
    paired_bootstrap,
    paired_bootstrap_auc,
    stratified_bootstrap_indices,
)
from prism.evaluation.significance import delong_covariance, delong_test, stars, wilcoxon_test


def _delong_1988(y_true: np.ndarray, scores: list[np.ndarray]) -> tuple[float, float]:
    """z and two-sided p of AUC1 - AUC2, straight from the 1988 paper's structural components."""
    positives, negatives = y_true == 1, y_true == 0
    m, n = positives.sum(), negatives.sum()
    v10, v01, theta = [], [], []
    for score in scores:
        x, y = score[positives], score[negatives]
        psi = (x[:, None] > y[None, :]).astype(float) + 0.5 * (x[:, None] == y[None, :])  # psi(X_i, Y_j)
        theta.append(psi.mean())
        v10.append(psi.mean(axis=1))  # V10(X_i) = 1/n sum_j psi
        v01.append(psi.mean(axis=0))  # V01(Y_j) = 1/m sum_i psi
    s10 = np.array([[np.sum((v10[r] - theta[r]) * (v10[s] - theta[s])) / (m - 1) for s in range(2)] for r in range(2)])
    s01 = np.array([[np.sum((v01[r] - theta[r]) * (v01[s] - theta[s])) / (n - 1) for s in range(2)] for r in range(2)])
    covariance = s10 / m + s01 / n
    z = (theta[0] - theta[1]) / np.sqrt(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    return float(z), float(2 * norm.sf(abs(z)))


@pytest.mark.parametrize("seed, n, ties", [(0, 60, False), (1, 150, True), (2, 31, True)])
def test_delong_matches_1988_structural_components(seed, n, ties):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, n)
    y_true[:2] = (0, 1)
    a = y_true * 0.8 + rng.normal(0, 1, n)
    b = y_true * 0.4 + 0.5 * a + rng.normal(0, 1, n)  # correlated with a
    if ties:
        a, b = np.round(a, 0), np.round(b, 0)
    result = delong_test(y_true, a, b)
    z, p = _delong_1988(y_true, [a, b])
    assert result.z == pytest.approx(z, abs=1e-6)
    assert result.p_value == pytest.approx(p, abs=1e-6)
    assert result.auc_a == pytest.approx(roc_auc_score(y_true, a), abs=1e-12)
    assert result.auc_b == pytest.approx(roc_auc_score(y_true, b), abs=1e-12)
    aucs, covariance = delong_covariance(y_true, np.stack([a, b]))
    assert covariance.shape == (2, 2) and np.allclose(covariance, covariance.T)


def test_delong_identical_models_and_errors():
    y_true = np.array([0, 0, 1, 1, 0, 1])
    score = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    same = delong_test(y_true, score, score)
    assert (same.difference, same.z, same.p_value) == (0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="single class"):
        delong_test(np.ones(6), score, score[::-1])
    with pytest.raises(ValueError, match="NaN"):
        delong_test(y_true, np.r_[score[:-1], np.nan], score)
    with pytest.raises(ValueError, match="paired"):
        delong_test(y_true, score, score[:-1])


def _exact_wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided exact p of the signed-rank statistic, by enumerating every sign pattern (no ties, no zeros)."""
    ranks = np.argsort(np.argsort(np.abs(differences))) + 1.0
    observed = ranks[differences > 0].sum()
    total = ranks.sum()
    statistics = np.array([ranks[list(signs)].sum() for signs in itertools.product([False, True], repeat=len(ranks))])
    centre = total / 2.0
    return float(np.mean(np.abs(statistics - centre) >= abs(observed - centre) - 1e-12))


def test_wilcoxon_matches_exact_enumeration_and_scipy():
    rng = np.random.default_rng(4)
    a = rng.random(12) + 0.15
    b = rng.random(12)
    result = wilcoxon_test(a, b)
    assert result.p_value == pytest.approx(_exact_wilcoxon_p(a - b), abs=1e-9)
    assert result.n_nonzero == 12
    # ties and zero differences (0/1 correctness): same as scipy with zeros dropped
    right_a = rng.integers(0, 2, 80).astype(float)
    right_b = np.where(rng.random(80) < 0.3, 1 - right_a, right_a)
    tied = wilcoxon_test(right_a, right_b)
    reference = wilcoxon(right_a, right_b, zero_method="wilcox")
    assert tied.p_value == pytest.approx(reference.pvalue, abs=1e-12)
    assert tied.statistic == pytest.approx(reference.statistic)
    assert wilcoxon_test(right_a, right_a).p_value == 1.0
    with pytest.raises(ValueError, match="NaN"):
        wilcoxon_test([0.1, np.nan], [0.2, 0.3])


def test_bootstrap_ci_seeded_and_contains_estimate():
    values = np.random.default_rng(5).normal(0.8, 0.1, 40)
    first = bootstrap_ci(values, seed=3)
    assert first == bootstrap_ci(values, seed=3)
    assert first != bootstrap_ci(values, seed=4)
    assert first.estimate == pytest.approx(values.mean())
    assert first.low < first.estimate < first.high
    assert first.n_resamples == 1000
    # percentile interval of the mean is close to the normal interval for normal data
    half = 1.96 * values.std(ddof=1) / np.sqrt(40)
    assert first.high - first.low == pytest.approx(2 * half, rel=0.15)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_ci([0.1, np.nan, 0.3])


def test_bootstrap_coverage_is_near_nominal():
    rng = np.random.default_rng(6)
    covered = 0
    trials = 300
    for trial in range(trials):
        sample = rng.exponential(1.0, 60)  # skewed, true mean 1
        interval = bootstrap_ci(sample, n_resamples=500, seed=trial)
        covered += interval.low <= 1.0 <= interval.high
    # nominal 95%; the percentile bootstrap runs a little low on skewed data at n = 60
    assert 0.88 <= covered / trials <= 0.99


def test_bootstrap_auc_and_paired_differences():
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 2, 120)
    a = y_true + rng.normal(0, 0.8, 120)
    b = y_true + rng.normal(0, 1.5, 120)
    interval = bootstrap_auc_ci(y_true, a)
    assert interval.estimate == pytest.approx(roc_auc_score(y_true, a), abs=1e-12)
    assert interval.low < interval.estimate < interval.high
    index = stratified_bootstrap_indices(y_true, 50, 0)
    assert np.all(y_true[index].sum(axis=1) == y_true.sum())  # class counts kept
    difference = paired_bootstrap_auc(y_true, a, b)
    assert difference.estimate == pytest.approx(roc_auc_score(y_true, a) - roc_auc_score(y_true, b), abs=1e-12)
    assert difference.low > 0 and difference.p_value < 0.05
    dice_a, dice_b = rng.uniform(0.7, 0.9, 50), rng.uniform(0.7, 0.9, 50)
    paired = paired_bootstrap(dice_a, dice_b)
    assert paired.estimate == pytest.approx(dice_a.mean() - dice_b.mean())
    assert paired.low < paired.estimate < paired.high
    same = paired_bootstrap(dice_a, dice_a)
    assert same.p_value == 1.0 and same.low == same.high == 0.0


def test_stars():
    assert [stars(p) for p in (0.0004, 0.001, 0.009, 0.049, 0.05, 0.7)] == ["***", "**", "**", "*", "n.s.", "n.s."]
    with pytest.raises(ValueError):
        stars(float("nan"))
