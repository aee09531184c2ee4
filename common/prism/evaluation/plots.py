"""Figures of the paper's Fig. 3: ROC curves with bootstrap CI bands (3e/f) and t-SNE of features (3d).

Both write PNG files with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

from prism.evaluation._checks import as_finite_array  # noqa: E402
from prism.evaluation.bootstrap import bootstrap_auc_ci, stratified_bootstrap_indices  # noqa: E402
from prism.evaluation.metrics import check_binary_labels  # noqa: E402

__all__ = ["roc_band", "plot_roc", "load_features", "plot_tsne"]


def roc_band(
    y_true: np.ndarray,
    y_score: np.ndarray,
    fpr_grid: np.ndarray,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve on a false-positive-rate grid with a pointwise percentile bootstrap band (stratified resamples).

    Returns:
        ``(tpr, tpr_low, tpr_high)``, each of shape ``fpr_grid.shape``.
    """

    def on_grid(truth: np.ndarray, score: np.ndarray) -> np.ndarray:
        fpr, tpr, _ = roc_curve(truth, score)
        return np.interp(fpr_grid, fpr, tpr)

    curves = np.stack([on_grid(y_true[i], y_score[i]) for i in stratified_bootstrap_indices(y_true, n_resamples, seed)])
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(curves, [tail, 100.0 - tail], axis=0)
    return on_grid(y_true, y_score), low, high


def plot_roc(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    title: str = "",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Path:
    """ROC curves of several models on one binary task, with CI bands and ``AUC (CI)`` in the legend.

    Args:
        curves: model -> ``(y_true (N,) 0/1, y_score (N,) positive-class score)``.
        path: PNG file to write.
    """
    grid = np.linspace(0.0, 1.0, 201)
    figure, axis = plt.subplots(figsize=(5.0, 5.0), dpi=120)
    for model, (y_true, y_score) in curves.items():
        truth = as_finite_array(y_true, f"{model}: y_true", ndim=1)
        check_binary_labels(truth, f"{model}: y_true")
        score = as_finite_array(y_score, f"{model}: y_score", ndim=1)
        tpr, low, high = roc_band(truth, score, grid, n_resamples, confidence, seed)
        auc = bootstrap_auc_ci(truth, score, n_resamples, confidence, seed)
        (line,) = axis.plot(grid, tpr, lw=1.6, label=f"{model}: {auc.estimate:.3f} ({auc.low:.3f}-{auc.high:.3f})")
        axis.fill_between(grid, low, high, color=line.get_color(), alpha=0.15, lw=0)
    axis.plot([0, 1], [0, 1], ls="--", lw=0.8, color="grey")
    axis.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="False positive rate", ylabel="True positive rate", title=title)
    axis.legend(loc="lower right", fontsize=7, title=f"AUC ({round(confidence * 100)}% CI)", title_fontsize=7)
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out


def load_features(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Features and class labels for t-SNE.

    ``.npz`` with arrays ``features`` (N, D) and ``labels`` (N,); or a CSV with a ``label`` column, an optional
    ``case_id`` column, and numeric feature columns.
    """
    location = Path(path)
    if not location.is_file():
        raise ValueError(f"{location}: feature file not found.")
    if location.suffix == ".npz":
        with np.load(location, allow_pickle=False) as data:
            if "features" not in data or "labels" not in data:
                raise ValueError(f"{location}: expected arrays 'features' and 'labels', got {list(data.keys())}.")
            features, labels = data["features"], data["labels"]
    else:
        header = np.genfromtxt(location, delimiter=",", max_rows=1, dtype=str)
        if "label" not in header:
            raise ValueError(f"{location}: a feature CSV needs a 'label' column, got {list(header)[:8]}.")
        keep = [i for i, name in enumerate(header) if name != "case_id"]
        table = np.loadtxt(location, delimiter=",", skiprows=1, usecols=keep, ndmin=2)
        names = [header[i] for i in keep]
        labels = table[:, names.index("label")]
        features = np.delete(table, names.index("label"), axis=1)
    features = as_finite_array(features, f"{location}: features", ndim=2)
    labels = np.asarray(labels)
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)
    if len(labels) != len(features):
        raise ValueError(f"{location}: {len(features)} feature rows but {len(labels)} labels.")
    return features, labels


def plot_tsne(
    features: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    perplexity: float = 30.0,
    seed: int = 0,
    title: str = "",
) -> Path:
    """One t-SNE panel per model, points coloured by class (paper Fig. 3d).

    Args:
        features: model -> ``(features (N, D), labels (N,))``.
        perplexity: t-SNE perplexity, lowered to (N - 1) / 3 for small N.
    """
    if not features:
        raise ValueError("no features to plot.")
    figure, axes = plt.subplots(1, len(features), figsize=(3.6 * len(features), 3.6), dpi=120, squeeze=False)
    classes = sorted({label for _, labels in features.values() for label in np.asarray(labels).tolist()})
    colours = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for axis, (model, (data, labels)) in zip(axes[0], features.items()):
        values = as_finite_array(data, f"{model}: features", ndim=2)
        if len(values) < 5:
            raise ValueError(f"{model}: t-SNE needs at least 5 cases, got {len(values)}.")
        embedded = TSNE(
            n_components=2, perplexity=min(perplexity, (len(values) - 1) / 3.0), init="pca", random_state=seed
        ).fit_transform(values)
        labels = np.asarray(labels)
        for index, label in enumerate(classes):
            chosen = labels == label
            axis.scatter(*embedded[chosen].T, s=8, color=colours(index % colours.N), label=str(label))
        axis.set(title=model, xticks=[], yticks=[])
    axes[0][-1].legend(title="class", fontsize=7, title_fontsize=7, loc="best")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
    return out
