"""Evaluation and statistics of the paper (sections 4.4 and 4.6): per-case metrics, bootstrap confidence
intervals, DeLong and Wilcoxon tests, and paper-style comparison tables (``prism compare``).

Figures (:mod:`prism.evaluation.plots`) and the command (:mod:`prism.evaluation.compare`) are imported on use.
See docs/statistics.md for which library computes each figure.
"""

from __future__ import annotations

from prism.evaluation.bootstrap import (
    ConfidenceInterval,
    PairedDifference,
    bootstrap_auc_ci,
    bootstrap_ci,
    paired_bootstrap,
    paired_bootstrap_auc,
)
from prism.evaluation.metrics import (
    absolute_errors,
    accuracy,
    auc_roc,
    correct_per_case,
    dice_per_case,
    mean_absolute_error,
)
from prism.evaluation.report_metrics import bleu, corpus_bleu, meteor, report_scores, rouge_l, tokenize
from prism.evaluation.results import CaseResults, MetricValues, metric_values, read_results
from prism.evaluation.significance import DeLongResult, WilcoxonResult, delong_test, stars, wilcoxon_test
from prism.evaluation.table import Cell, Entry, compare_entries, to_csv, to_markdown
from prism.evaluation.wordnet import WordNetNotFoundError, load_wordnet

__all__ = [
    "ConfidenceInterval",
    "PairedDifference",
    "bootstrap_ci",
    "bootstrap_auc_ci",
    "paired_bootstrap",
    "paired_bootstrap_auc",
    "dice_per_case",
    "correct_per_case",
    "accuracy",
    "auc_roc",
    "absolute_errors",
    "mean_absolute_error",
    "tokenize",
    "bleu",
    "corpus_bleu",
    "meteor",
    "rouge_l",
    "report_scores",
    "CaseResults",
    "MetricValues",
    "read_results",
    "metric_values",
    "DeLongResult",
    "WilcoxonResult",
    "delong_test",
    "wilcoxon_test",
    "stars",
    "Entry",
    "Cell",
    "compare_entries",
    "to_markdown",
    "to_csv",
    "WordNetNotFoundError",
    "load_wordnet",
]
