"""``prism compare``: per-case result files of several models and tasks -> paper-style table and figures.

Examples::

    prism compare --results "swin_b_scratch=a.csv,prism=b.csv" --task PI-CAI --baseline swin_b_scratch
    prism compare --manifest examples/results/manifest.csv --baseline swin_b_scratch --out_dir comparison \\
        --features "swin_b_scratch=features_swin_b.npz,prism=features_prism.npz"

Writes ``comparison.md`` and ``comparison.csv``, ``roc_<task>.png`` for every binary task whose files have
``target`` and ``prob_1``, and ``tsne.png`` when features are given.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from prism.evaluation.results import CaseResults, default_metrics, metric_values, read_results
from prism.evaluation.table import Entry, compare_entries, to_csv, to_markdown

__all__ = ["ManifestRow", "read_manifest", "parse_pairs", "compare", "compare_command"]


@dataclass(frozen=True)
class ManifestRow:
    """One result file: which model, on which task, scored with which metrics (empty: inferred from columns)."""

    model: str
    task: str
    file: str
    metrics: tuple[str, ...] = ()


def _split(value: str | Sequence[str], separator: str = ",") -> list[str]:
    """Items of a comma-separated flag (fire may already have turned ``a,b`` into a tuple)."""
    items = value.split(separator) if isinstance(value, str) else [str(v) for v in value]
    return [item.strip() for item in items if str(item).strip()]


def parse_pairs(value: str | Sequence[str], flag: str) -> dict[str, str]:
    """``"name=path,name2=path2"`` -> ``{name: path}``."""
    pairs: dict[str, str] = {}
    for item in _split(value):
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ValueError(f"--{flag}: expected 'name=path' items separated by commas, got {item!r}.")
        if name.strip() in pairs:
            raise ValueError(f"--{flag}: name {name.strip()!r} is given twice.")
        pairs[name.strip()] = path.strip()
    if not pairs:
        raise ValueError(f"--{flag}: no 'name=path' items given.")
    return pairs


def read_manifest(path: str | Path) -> list[ManifestRow]:
    """Read a manifest (CSV with columns ``model,task,file[,metric]``, or YAML: a list of such mappings, or a
    mapping with a ``results`` list). ``metric`` may list several metrics separated by ``;``. Relative file paths
    are relative to the manifest's folder."""
    location = Path(path)
    if not location.is_file():
        raise ValueError(f"{location}: manifest not found.")
    if location.suffix in (".yaml", ".yml"):
        loaded = yaml.safe_load(location.read_text())
        records = loaded.get("results") if isinstance(loaded, dict) else loaded
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError(f"{location}: expected a list of {{model, task, file, metric}} mappings.")
    else:
        with open(location, newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
    rows = []
    for number, record in enumerate(records, start=1):
        missing = [key for key in ("model", "task", "file") if not str(record.get(key) or "").strip()]
        if missing:
            raise ValueError(f"{location}, entry {number}: missing {missing}.")
        metric = record.get("metric") or ""
        metrics = tuple(_split(metric, ";")) if isinstance(metric, str) else tuple(str(m) for m in metric)
        file = Path(str(record["file"]).strip())
        rows.append(
            ManifestRow(
                str(record["model"]).strip(),
                str(record["task"]).strip(),
                str(file if file.is_absolute() else location.parent / file),
                metrics,
            )
        )
    if not rows:
        raise ValueError(f"{location}: no entries.")
    return rows


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "task"


def _is_binary(results: CaseResults) -> bool:
    probs = [name for name in results.numbers if name.startswith("prob_")]
    target = results.numbers.get("target")
    return "prob_1" in results.numbers and len(probs) <= 2 and target is not None and set(target.tolist()) <= {0.0, 1.0}


def compare(
    rows: Sequence[ManifestRow],
    out_dir: str | Path,
    baseline: str | None = None,
    ours: str | None = None,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    test: str = "auto",
    ci_style: str = "range",
    roc: bool = True,
    features: dict[str, str] | None = None,
    wordnet_dir: str | None = None,
) -> dict[str, Path]:
    """Build the comparison of ``rows`` and write its table(s) and figures into ``out_dir``.

    Returns:
        ``{"markdown": path, "csv": path, "roc_<task>": path, ..., "tsne": path}``.
    """
    # Lazy import: only comparisons with figures pay for matplotlib and t-SNE.
    from prism.evaluation.plots import load_features, plot_roc, plot_tsne

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    loaded: dict[str, CaseResults] = {}
    entries: list[Entry] = []
    binary: dict[str, dict[str, CaseResults]] = {}
    for row in rows:
        results = loaded.setdefault(row.file, read_results(row.file))
        for metric in row.metrics or default_metrics(results):
            entries.append(Entry(row.model, row.task, metric_values(results, metric, wordnet_dir)))
        binary.setdefault(row.task, {})[row.model] = results
    cells = compare_entries(entries, baseline, n_resamples, confidence, seed, test)
    written = {"markdown": out / "comparison.md", "csv": out / "comparison.csv"}
    written["markdown"].write_text(to_markdown(cells, baseline, ours, ci_style, confidence, n_resamples))
    written["csv"].write_text(to_csv(cells))
    if roc:
        for task, by_model in binary.items():
            if not all(_is_binary(results) for results in by_model.values()):
                continue
            curves = {}
            for model, results in by_model.items():
                values = metric_values(results, "auc")
                curves[model] = (values.target, values.score)
            written[f"roc_{task}"] = plot_roc(
                curves, out / f"roc_{_slug(task)}.png", task, n_resamples, confidence, seed
            )
    if features:
        written["tsne"] = plot_tsne({m: load_features(p) for m, p in features.items()}, out / "tsne.png", seed=seed)
    return written


def compare_command(
    results: str = "",
    manifest: str = "",
    task: str = "task",
    metric: str = "",
    baseline: str = "",
    ours: str = "",
    out_dir: str = "comparison",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    test: str = "auto",
    ci_style: str = "range",
    roc: bool = True,
    features: str = "",
    wordnet_dir: str = "",
) -> None:
    """Compare models from per-case result files: paper-style table (Markdown + CSV), ROC and t-SNE PNGs.

    Args:
        results: ``"model=file,model2=file2"``, all on one task (``--task``); or use ``--manifest``.
        manifest: CSV or YAML listing ``model, task, file[, metric]`` (several tasks).
        task: task name for ``--results``.
        metric: metric(s) for ``--results``, comma-separated (accuracy, auc, dice, mae, bleu1..4, meteor,
            rouge_l, or a column name); empty: inferred from the file's columns.
        baseline: model to compute deltas and significance against (e.g. ``swin_b_scratch``).
        ours: model whose delta row is printed (default: the last model that is not the baseline).
        out_dir: output folder.
        n_resamples: bootstrap resamples for confidence intervals (paper: 1000).
        confidence: confidence level of the intervals.
        seed: bootstrap seed.
        test: ``auto`` (DeLong for AUC, Wilcoxon otherwise) or ``bootstrap`` (paired bootstrap p-values).
        ci_style: ``range`` -> ``mean (low-high)``; ``pm`` -> ``mean (±half-width)``.
        roc: write ROC curves with CI bands for binary tasks.
        features: ``"model=features.npz,..."`` for a t-SNE figure coloured by class.
        wordnet_dir: WordNet 3.0 folder for METEOR computed from report texts.
    """
    if bool(results) == bool(manifest):
        raise ValueError("give exactly one of --results 'model=file,...' or --manifest file.")
    if manifest:
        rows = read_manifest(manifest)
    else:
        metrics = tuple(_split(metric)) if metric else ()
        rows = [ManifestRow(model, str(task), path, metrics) for model, path in parse_pairs(results, "results").items()]
    written = compare(
        rows,
        out_dir,
        baseline or None,
        ours or None,
        int(n_resamples),
        float(confidence),
        int(seed),
        test,
        ci_style,
        bool(roc),
        parse_pairs(features, "features") if features else None,
        wordnet_dir or None,
    )
    print(written["markdown"].read_text())
    for name, path in written.items():
        print(f"{name}: {path}")
