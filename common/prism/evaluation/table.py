"""Paper-style comparison tables (Tables 1-3): mean with 95% CI per model and task, best in bold, second
underlined, and the gain of one model over a baseline with significance stars.

Tests (paper section 4.6): DeLong for AUC; Wilcoxon signed-rank on paired per-case values for everything else
(per-case 0/1 correctness for accuracy, per-case Dice, per-case absolute error, per-case report scores).
``test="bootstrap"`` uses the paired bootstrap p-value for every metric instead.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from prism.evaluation.bootstrap import (
    ConfidenceInterval,
    PairedDifference,
    bootstrap_auc_ci,
    bootstrap_ci,
    paired_bootstrap,
    paired_bootstrap_auc,
)
from prism.evaluation.results import MetricValues, lower_is_better
from prism.evaluation.significance import delong_test, stars, wilcoxon_test

__all__ = ["Entry", "Cell", "METRIC_LABELS", "compare_entries", "to_markdown", "to_csv"]

# metric -> (label, display scale, decimals)
METRIC_LABELS: dict[str, tuple[str, float, int]] = {
    "accuracy": ("ACC (%)", 100.0, 2),
    "auc": ("AUC (%)", 100.0, 2),
    "dice": ("Dice (%)", 100.0, 2),
    "mae": ("MAE", 1.0, 3),
    "bleu1": ("BLEU-1", 100.0, 2),
    "bleu2": ("BLEU-2", 100.0, 2),
    "bleu3": ("BLEU-3", 100.0, 2),
    "bleu4": ("BLEU-4", 100.0, 2),
    "meteor": ("METEOR", 100.0, 2),
    "rouge_l": ("ROUGE-L", 100.0, 2),
}


def _label(metric: str) -> tuple[str, float, int]:
    return METRIC_LABELS.get(metric, (metric, 1.0, 3))


@dataclass(frozen=True)
class Entry:
    """Per-case values of one model on one task and metric."""

    model: str
    task: str
    values: MetricValues


@dataclass(frozen=True)
class Cell:
    """One table cell, in display units (e.g. percent), plus its comparison with the baseline."""

    task: str
    metric: str
    model: str
    n_cases: int
    estimate: float
    low: float
    high: float
    rank: int
    delta: float | None
    delta_low: float | None
    delta_high: float | None
    p_value: float | None
    test: str


def _align(base: MetricValues, other: MetricValues, where: str) -> np.ndarray:
    """Indices into ``other`` that put its cases in the order of ``base``; both must have the same cases."""
    missing = sorted(set(base.case_ids) - set(other.case_ids))
    extra = sorted(set(other.case_ids) - set(base.case_ids))
    if missing or extra:
        raise ValueError(
            f"{where}: models must be scored on the same cases for paired tests; "
            f"missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})."
        )
    position = {case: i for i, case in enumerate(other.case_ids)}
    return np.array([position[case] for case in base.case_ids])


def _ranks(estimates: list[float], decimals: int, lower: bool) -> list[int]:
    """Dense ranks of the displayed (rounded) values, 1 = best; equal displayed values share a rank."""
    shown = [round(value, decimals) for value in estimates]
    order = sorted(set(shown), reverse=not lower)
    return [order.index(value) + 1 for value in shown]


def _aligned_group(task: str, metric: str, group: Sequence[Entry]) -> dict[str, MetricValues]:
    """Every model's values in the case order of the first model (targets must agree for AUC)."""
    reference = group[0].values
    aligned: dict[str, MetricValues] = {}
    for entry in group:
        index = _align(reference, entry.values, f"task {task!r} ({metric}), model {entry.model!r}")
        values = entry.values
        if metric == "auc":
            if not np.array_equal(values.target[index], reference.target):
                raise ValueError(f"task {task!r}: model {entry.model!r} has different targets for the same cases.")
            aligned[entry.model] = MetricValues(
                metric, reference.case_ids, target=reference.target, score=values.score[index]
            )
        else:
            aligned[entry.model] = MetricValues(metric, reference.case_ids, values=values.values[index])
    return aligned


def _interval(values: MetricValues, n_resamples: int, confidence: float, seed: int) -> ConfidenceInterval:
    if values.metric == "auc":
        return bootstrap_auc_ci(values.target, values.score, n_resamples, confidence, seed)
    return bootstrap_ci(values.values, n_resamples=n_resamples, confidence=confidence, seed=seed)


def _versus(
    ours: MetricValues, base: MetricValues, n_resamples: int, confidence: float, seed: int, test: str
) -> tuple[PairedDifference, float, str]:
    """Paired bootstrap of the difference, and the p-value of the chosen test with its name."""
    if ours.metric == "auc":
        difference = paired_bootstrap_auc(ours.target, ours.score, base.score, n_resamples, confidence, seed)
    else:
        difference = paired_bootstrap(
            ours.values, base.values, n_resamples=n_resamples, confidence=confidence, seed=seed
        )
    if test == "bootstrap":
        return difference, difference.p_value, "paired bootstrap"
    if ours.metric == "auc":
        return difference, delong_test(ours.target, ours.score, base.score).p_value, "DeLong"
    return difference, wilcoxon_test(ours.values, base.values).p_value, "Wilcoxon signed-rank"


def compare_entries(
    entries: Sequence[Entry],
    baseline: str | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    test: str = "auto",
) -> list[Cell]:
    """Confidence intervals, ranks and tests vs ``baseline`` for every (task, metric) and model.

    Args:
        entries: one per model, task and metric; the models of a (task, metric) must share their case ids.
        baseline: model every other model is tested against (``None``: no deltas).
        n_resamples, confidence, seed: percentile bootstrap settings (same seed for every model).
        test: ``"auto"`` (DeLong for AUC, Wilcoxon otherwise) or ``"bootstrap"`` (paired bootstrap p-values).
    """
    if test not in ("auto", "bootstrap"):
        raise ValueError(f"test must be 'auto' or 'bootstrap', got {test!r}.")
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        group = groups.setdefault((entry.task, entry.values.metric), [])
        if any(e.model == entry.model for e in group):
            raise ValueError(f"model {entry.model!r} is given twice for task {entry.task!r}, {entry.values.metric}.")
        group.append(entry)
    cells: list[Cell] = []
    for (task, metric), group in groups.items():
        _, scale, decimals = _label(metric)
        aligned = _aligned_group(task, metric, group)
        if baseline is not None and baseline not in aligned:
            raise ValueError(
                f"baseline {baseline!r} has no results for task {task!r} ({metric}); models: {list(aligned)}."
            )
        intervals = {model: _interval(values, n_resamples, confidence, seed) for model, values in aligned.items()}
        ranks = _ranks([i.estimate * scale for i in intervals.values()], decimals, lower_is_better(metric))
        for (model, interval), rank in zip(intervals.items(), ranks):
            delta: tuple[float | None, ...] = (None, None, None)
            p_value, test_name = None, ""
            if baseline is not None and model != baseline:
                difference, p_value, test_name = _versus(
                    aligned[model], aligned[baseline], n_resamples, confidence, seed, test
                )
                delta = (difference.estimate * scale, difference.low * scale, difference.high * scale)
            cells.append(
                Cell(
                    task,
                    metric,
                    model,
                    len(group[0].values.case_ids),
                    interval.estimate * scale,
                    interval.low * scale,
                    interval.high * scale,
                    rank,
                    *delta,
                    p_value,
                    test_name,
                )
            )
    return cells


def _columns(cells: Sequence[Cell]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((cell.task, cell.metric) for cell in cells))


def _models(cells: Sequence[Cell]) -> list[str]:
    return list(dict.fromkeys(cell.model for cell in cells))


def _format_cell(cell: Cell, ci_style: str, n_models: int) -> str:
    _, _, decimals = _label(cell.metric)
    if ci_style == "range":
        text = f"{cell.estimate:.{decimals}f} ({cell.low:.{decimals}f}-{cell.high:.{decimals}f})"
    else:
        text = f"{cell.estimate:.{decimals}f} (±{(cell.high - cell.low) / 2:.{decimals}f})"
    if n_models > 1 and cell.rank == 1:
        return f"**{text}**"
    if n_models > 2 and cell.rank == 2:
        return f"<u>{text}</u>"
    return text


def to_markdown(
    cells: Sequence[Cell],
    baseline: str | None = None,
    ours: str | None = None,
    ci_style: str = "range",
    confidence: float = 0.95,
    n_resamples: int = 1000,
) -> str:
    """Markdown table: one row per model, one column per (task, metric), then the row ``Δ (baseline)`` of ``ours``.

    Args:
        ci_style: ``"range"`` prints ``mean (low-high)`` (paper Table 2), ``"pm"`` prints ``mean (±half-width)``
            (paper Tables 1 and 3).
        ours: the model whose gain over ``baseline`` is shown (default: the last model that is not the baseline).
    """
    if ci_style not in ("range", "pm"):
        raise ValueError(f"ci_style must be 'range' or 'pm', got {ci_style!r}.")
    columns, models = _columns(cells), _models(cells)
    by_key = {(c.task, c.metric, c.model): c for c in cells}
    header = ["Model \\ Task"] + [f"{task} {_label(metric)[0]}" for task, metric in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    n_per_column = {col: sum((col[0], col[1], m) in by_key for m in models) for col in columns}
    for model in models:
        row = [model.replace("|", "/")]
        for task, metric in columns:
            cell = by_key.get((task, metric, model))
            row.append("" if cell is None else _format_cell(cell, ci_style, n_per_column[(task, metric)]))
        lines.append("| " + " | ".join(row) + " |")
    if baseline is not None:
        if ours is None:
            others = [m for m in models if m != baseline]
            ours = others[-1] if others else None
        elif ours not in models:
            raise ValueError(f"model {ours!r} is not among the models {models}.")
        if ours is not None and ours != baseline:
            row = [f"Δ {ours} vs {baseline}".replace("|", "/")]
            for task, metric in columns:
                cell = by_key.get((task, metric, ours))
                if cell is None or cell.delta is None:
                    row.append("")
                    continue
                decimals = _label(metric)[2]
                row.append(f"{cell.delta:+.{decimals}f} ({stars(cell.p_value)})")
            lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    caption = (
        f"Mean ({round(confidence * 100)}% CI, percentile bootstrap over cases, {n_resamples} resamples). "
        "Best in bold, second underlined (lower is better for errors)."
    )
    if baseline is not None:
        used: dict[str, list[str]] = {}
        for cell in cells:
            if cell.test and _label(cell.metric)[0] not in used.setdefault(cell.test, []):
                used[cell.test].append(_label(cell.metric)[0])
        tests = "; ".join(f"{test}: {', '.join(labels)}" for test, labels in used.items())
        caption += (
            f" Δ: difference from {baseline}; * p < 0.05, ** p < 0.01, *** p < 0.001, n.s. otherwise"
            f" (paired tests on the same cases, {tests})."
        )
    lines.append(caption)
    return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return format(float(value), ".10g")


def to_csv(cells: Sequence[Cell]) -> str:
    """Long-format CSV of every cell (display units, full precision), with the test used and its p-value."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "task",
            "metric",
            "unit",
            "model",
            "n_cases",
            "estimate",
            "ci_low",
            "ci_high",
            "rank",
            "delta_vs_baseline",
            "delta_ci_low",
            "delta_ci_high",
            "p_value",
            "test",
            "stars",
        ]
    )
    for c in cells:
        label = _label(c.metric)[0]
        unit = "%" if "%" in label else ""
        writer.writerow(
            [
                c.task,
                c.metric,
                unit,
                c.model,
                c.n_cases,
                _num(c.estimate),
                _num(c.low),
                _num(c.high),
                c.rank,
                "" if c.delta is None else _num(c.delta),
                "" if c.delta_low is None else _num(c.delta_low),
                "" if c.delta_high is None else _num(c.delta_high),
                "" if c.p_value is None else _num(c.p_value),
                c.test,
                "" if c.p_value is None else stars(c.p_value),
            ]
        )
    return buffer.getvalue()
