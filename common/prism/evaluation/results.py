"""Per-case result files: reading them and turning a column set into per-case metric values.

A result file is a CSV (comma or tab separated) with one row per case and a case-id column, ``case_id`` or
``filename`` (MONAI ``MetricsSaver`` writes ``<metric>_raw.csv`` as ``filename,class0,...,mean``). The other
columns say which metrics can be computed (docs/statistics.md lists them):

========================== ============================================================================
metric                     columns used
========================== ============================================================================
``accuracy``               ``correct`` (0/1), or ``target`` + ``pred``, or ``target`` + ``prob_<k>``
                           (arg-max), or multi-label ``target_<j>`` + ``pred_<j>`` (all labels right)
``auc``                    ``target`` (0/1) + ``prob_1`` (binary only)
``dice``                   ``dice``, or ``mean`` (MetricsSaver)
``mae``                    ``abs_error``, or ``target`` + ``pred``
``bleu1..4``, ``meteor``,  a column of that name, or the report texts ``reference`` + ``prediction``
``rouge_l``
any other column name      that column (lower is better for names in :data:`LOWER_IS_BETTER`)
========================== ============================================================================
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from prism.evaluation.metrics import absolute_errors, check_binary_labels, correct_per_case
from prism.evaluation.report_metrics import REPORT_METRICS, report_scores

__all__ = [
    "CASE_ID_COLUMNS",
    "LOWER_IS_BETTER",
    "CaseResults",
    "MetricValues",
    "read_results",
    "default_metrics",
    "metric_values",
    "lower_is_better",
]

CASE_ID_COLUMNS = ("case_id", "filename")
TEXT_COLUMNS = ("reference", "prediction")
LOWER_IS_BETTER = ("mae", "abs_error", "hausdorff", "hd95", "surface_distance", "asd", "assd", "rmse", "loss")


@dataclass(frozen=True)
class CaseResults:
    """The content of one result file: case ids, numeric columns and text columns, in file order."""

    path: str
    case_ids: tuple[str, ...]
    numbers: dict[str, np.ndarray] = field(default_factory=dict)
    texts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    metrics_saver: bool = False


@dataclass(frozen=True)
class MetricValues:
    """What one metric needs on one file: per-case ``values`` (mean statistic) or ``target``/``score`` (AUC)."""

    metric: str
    case_ids: tuple[str, ...]
    values: np.ndarray | None = None
    target: np.ndarray | None = None
    score: np.ndarray | None = None


def lower_is_better(metric: str) -> bool:
    """Whether smaller values of ``metric`` are better (errors and distances)."""
    name = metric.lower()
    return any(token in name for token in LOWER_IS_BETTER)


def _resolve(path: str | os.PathLike) -> Path:
    """A file, or a MetricsSaver output folder holding exactly one ``*_raw.csv``."""
    location = Path(path)
    if location.is_dir():
        raws = sorted(location.glob("*_raw.csv"))
        if len(raws) != 1:
            raise ValueError(
                f"{location}: a results folder must hold exactly one MetricsSaver '*_raw.csv'; found "
                f"{[p.name for p in raws]}. Name the file instead."
            )
        return raws[0]
    if not location.is_file():
        raise ValueError(f"{location}: result file not found.")
    return location


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def read_results(path: str | os.PathLike) -> CaseResults:
    """Read a per-case result file (or a folder with one MetricsSaver ``*_raw.csv``).

    NaN cells are kept here (MetricsSaver writes ``nan`` for classes it ignores); :func:`metric_values` refuses
    them in the columns a metric uses.
    """
    location = _resolve(path)
    with open(location, newline="", encoding="utf-8") as handle:
        header_line = handle.readline()
        handle.seek(0)
        delimiter = "\t" if "\t" in header_line else ","
        rows = list(csv.reader(handle, delimiter=delimiter))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise ValueError(f"{location}: needs a header line and at least one case.")
    header = [name.strip() for name in rows[0]]
    id_column = next((name for name in CASE_ID_COLUMNS if name in header), None)
    if id_column is None:
        raise ValueError(f"{location}: no case-id column; expected one of {CASE_ID_COLUMNS}, got {header}.")
    if len(set(header)) != len(header):
        raise ValueError(f"{location}: repeated column names in {header}.")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{location}, line {line}: {len(row)} cells but the header has {len(header)}.")
    columns = {
        name: [row[i].strip() if name not in TEXT_COLUMNS else row[i] for row in rows[1:]]
        for i, name in enumerate(header)
    }
    case_ids = tuple(columns.pop(id_column))
    if len(set(case_ids)) != len(case_ids):
        repeated = sorted({c for c in case_ids if case_ids.count(c) > 1})[:5]
        raise ValueError(f"{location}: repeated case ids {repeated}.")
    numbers: dict[str, np.ndarray] = {}
    texts: dict[str, tuple[str, ...]] = {}
    for name, cells in columns.items():
        parsed = [_number(cell) for cell in cells]
        if name not in TEXT_COLUMNS and all(value is not None for value in parsed):
            numbers[name] = np.array(parsed, dtype=np.float64)
        else:
            texts[name] = tuple(cells)
    saver = id_column == "filename" and "mean" in numbers
    return CaseResults(str(location), case_ids, numbers, texts, saver)


def _prob_columns(results: CaseResults) -> list[str]:
    names = [name for name in results.numbers if name.startswith("prob_")]
    return sorted(names, key=lambda name: int(name[5:]) if name[5:].isdigit() else math.inf)


def default_metrics(results: CaseResults) -> list[str]:
    """The metric(s) a file is reported with when none is named."""
    if results.metrics_saver:
        stem = Path(results.path).stem.removesuffix("_raw")
        return ["dice" if "dice" in stem.lower() else stem]
    if "correct" in results.numbers or _prob_columns(results):
        return ["accuracy"]
    if "target" in results.numbers and "pred" in results.numbers:
        return ["mae"]
    if all(name in results.texts for name in TEXT_COLUMNS):
        return list(REPORT_METRICS)
    for name in ("dice", "abs_error", *REPORT_METRICS):
        if name in results.numbers:
            return ["mae" if name == "abs_error" else name]
    if len(results.numbers) == 1:
        return list(results.numbers)
    raise ValueError(
        f"{results.path}: cannot tell which metric to report from columns "
        f"{list(results.numbers) + list(results.texts)}; name it (metric column of the manifest, or --metric)."
    )


def _finite(results: CaseResults, name: str) -> np.ndarray:
    values = results.numbers.get(name)
    if values is None:
        where = "texts, not numbers" if name in results.texts else "missing"
        raise ValueError(f"{results.path}: column {name!r} is {where}; columns: {list(results.numbers)}.")
    bad = ~np.isfinite(values)
    if bad.any():
        cases = [results.case_ids[i] for i in np.flatnonzero(bad)[:5]]
        hint = (
            " MetricsSaver writes NaN for classes ignored as empty: evaluate with MeanDice(ignore_empty=False) /"
            " DiceMetric(ignore_empty=False) (empty reference and prediction score 1) or"
            " prism.evaluation.dice_per_case."
            if results.metrics_saver
            else ""
        )
        raise ValueError(f"{results.path}: column {name!r} has {int(bad.sum())} NaN/inf value(s), cases {cases}.{hint}")
    return values


def _accuracy_values(results: CaseResults) -> np.ndarray:
    if "correct" in results.numbers:
        values = _finite(results, "correct")
        check_binary_labels(values, f"{results.path}: column 'correct'")
        return values
    label_columns = sorted(name for name in results.numbers if name.startswith("target_"))
    if label_columns:
        pred_columns = ["pred_" + name[7:] for name in label_columns]
        truth = np.stack([_finite(results, name) for name in label_columns], axis=1)
        pred = np.stack([_finite(results, name) for name in pred_columns], axis=1)
        return correct_per_case(truth, pred, multilabel="subset")
    target = _finite(results, "target")
    if "pred" in results.numbers:
        return correct_per_case(target, _finite(results, "pred"))
    probs = _prob_columns(results)
    if not probs:
        raise ValueError(f"{results.path}: accuracy needs 'correct', 'pred' or 'prob_<k>' columns.")
    return correct_per_case(target, np.stack([_finite(results, name) for name in probs], axis=1))


def metric_values(results: CaseResults, metric: str, wordnet_dir: str | None = None) -> MetricValues:
    """Per-case values of ``metric`` from a result file (see the module docstring for the columns used)."""
    try:
        if metric == "accuracy":
            return MetricValues(metric, results.case_ids, values=_accuracy_values(results))
        if metric == "auc":
            if "prob_1" not in results.numbers or len(_prob_columns(results)) > 2:
                raise ValueError("AUC in comparisons is binary: it needs 'target' (0/1) and 'prob_1' columns.")
            target = _finite(results, "target")
            check_binary_labels(target, f"{results.path}: column 'target'")
            return MetricValues(metric, results.case_ids, target=target, score=_finite(results, "prob_1"))
        if metric == "dice":
            column = "dice" if "dice" in results.numbers else "mean"
            if column == "mean":  # MetricsSaver's nan-mean would silently drop classes scored NaN
                for name in results.numbers:
                    _finite(results, name)
            return MetricValues(metric, results.case_ids, values=_finite(results, column))
        if metric == "mae" and "abs_error" not in results.numbers:
            values = absolute_errors(_finite(results, "target"), _finite(results, "pred"))
            return MetricValues(metric, results.case_ids, values=values)
        if metric == "mae":
            return MetricValues(metric, results.case_ids, values=_finite(results, "abs_error"))
        if metric in REPORT_METRICS and metric not in results.numbers:
            if not all(name in results.texts for name in TEXT_COLUMNS):
                raise ValueError(f"{metric} needs a {metric!r} column or 'reference' and 'prediction' text columns.")
            scores = report_scores(results.texts["reference"], results.texts["prediction"], [metric], wordnet_dir)
            return MetricValues(metric, results.case_ids, values=scores[metric])
        return MetricValues(metric, results.case_ids, values=_finite(results, metric))
    except ValueError as error:
        message = str(error)
        raise ValueError(message if message.startswith(results.path) else f"{results.path}: {message}") from error
