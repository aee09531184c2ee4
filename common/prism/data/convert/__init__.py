"""``prism convert``: from a public dataset as its download unpacks to the datalist its bundle reads.

One module per dataset (nnU-Net's ``dataset_conversion/Dataset###_Name.py`` is the model), each declaring a
:class:`~prism.data.convert.core.DatasetSpec` and walking the official layout; the shared pipeline
(:mod:`prism.data.convert.core`) links, converts, checks labels, splits by subject and writes
``datalist.json`` plus ``conversion_report.json``. ``prism convert --list`` names the datasets and bundles.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from monai.utils import look_up_option

from prism.data.convert.core import ConversionResult, DatasetSpec, resolve_task, run_conversion
from prism.data.convert.files import ConversionError

__all__ = ["MODULES", "ConversionError", "convert", "convert_command", "datasets_table", "get_dataset", "list_datasets"]

# Dataset modules, in the paper's task order (segmentation, classification, age, registration), then the
# generic manifest for private cohorts.
MODULES: tuple[str, ...] = (
    "acdc",
    "emidec",
    "mmwhs",
    "msd",
    "dukebreast",
    "amos",
    "chaos",
    "atlas",
    "pansegdata",
    "dukeliver",
    "promise12",
    "prostate158",
    "oaizib",
    "skmtea",
    "spider",
    "hanseg",
    "totalsegmr",
    "brats2021",
    "mamamia",
    "picai",
    "lldmmri",
    "mrnet",
    "adni",
    "careliver",
    "oai",
    "oasis3",
    "ppmi",
    "openbhb",
    "ixi",
    "oasis1",
    "manifest",
)
# Dataset options of the command line; each dataset accepts only those its spec declares.
_OPTIONS = ("sequence", "horizon", "register")


def list_datasets() -> tuple[DatasetSpec, ...]:
    """Every dataset spec, in :data:`MODULES` order."""
    specs: list[DatasetSpec] = []
    for module in MODULES:
        specs.extend(importlib.import_module(f"prism.data.convert.{module}").SPECS)
    return tuple(specs)


def get_dataset(name: str) -> DatasetSpec:
    """The dataset called ``name``; an unknown name raises ValueError with the closest names."""
    specs = {spec.name: spec for spec in list_datasets()}
    return specs[look_up_option(name, tuple(specs))]


def _options(spec: DatasetSpec, given: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(k for k, v in given.items() if v is not None and k not in spec.options)
    if unknown:
        accepted = ", ".join(f"--{k}" for k in spec.options) or "none"
        raise ConversionError(
            f"{spec.name} takes no option {', '.join('--' + k for k in unknown)} (it takes: {accepted})."
        )
    options = dict(spec.defaults)
    for name, value in given.items():
        if value is None:
            continue
        allowed = spec.options[name]
        options[name] = look_up_option(str(value), allowed) if allowed else value
    return options


def convert(
    dataset: str,
    source: str | Path,
    out: str | Path,
    *,
    task: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.2,
    folds: int = 0,
    overwrite: bool = False,
    **options: Any,
) -> ConversionResult:
    """Convert one downloaded dataset into a bundle's dataset folder (see :mod:`prism.data.convert.core`).

    Args:
        dataset: a name of ``prism convert --list``.
        source: the download, unpacked as the publisher ships it.
        out: the dataset folder to write (the bundle's ``dataset_dir``); must be empty or a former conversion.
        task: which of the dataset's tasks (default: its first).
        seed: draws the validation subjects and the folds.
        val_fraction: share of subjects in ``validation`` when the dataset has no official validation split.
        folds: K >= 2 writes ``datalist_fold0..K-1.json`` (subject-level folds; ``datalist.json`` is fold 0).
        overwrite: replace an earlier conversion in ``out``.
        options: dataset options (``sequence``, ``horizon``, ``register``) where the dataset takes them.
    """
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConversionError(f"unknown option(s) {unknown}; dataset options are {list(_OPTIONS)}.")
    spec = get_dataset(dataset)
    return run_conversion(
        spec,
        Path(source),
        Path(out),
        resolve_task(spec, task),
        seed=int(seed),
        val_fraction=float(val_fraction),
        folds=int(folds),
        overwrite=bool(overwrite),
        options=_options(spec, options),
    )


def datasets_table() -> str:
    """The Markdown table of docs/datasets.md: dataset, download page, ``prism convert`` name, bundles, licence,
    release followed (tests/test_docs_datasets.py keeps the page equal to it)."""
    rows = [
        "| dataset | download | `prism convert` name | bundle(s) | licence | release followed |",
        "|---|---|---|---|---|---|",
    ]
    for spec in list_datasets():
        bundles = ", ".join(f"`{b}`" for b in spec.bundles)
        rows.append(f"| {spec.title} | {spec.download} | `{spec.name}` | {bundles} | {spec.licence} | {spec.release} |")
    return "\n".join(rows)


def _print_list() -> None:
    for spec in list_datasets():
        print(f"{spec.name:18s} {spec.title:32s} -> {', '.join(spec.bundles)}")
        print(f"{'':18s} release: {spec.release}; options: {', '.join(f'--{o}' for o in spec.options) or '-'}")


def _check_type(name: str, value: Any, kind: type) -> None:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConversionError(f"--{name} must be an integer, got {value!r}.")
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConversionError(f"--{name} must be a number, got {value!r}.")
    if kind is bool and not isinstance(value, bool):
        raise ConversionError(f"--{name} is a switch (--{name} or --no{name}), got {value!r}.")


def convert_command(
    dataset: str | None = None,
    source: str | None = None,
    out: str | None = None,
    task: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.2,
    folds: int = 0,
    overwrite: bool = False,
    sequence: str | None = None,
    horizon: int | None = None,
    register: str | None = None,
    list: bool = False,  # noqa: A002 - the flag users type is --list
) -> None:
    """Convert a downloaded dataset: ``prism convert DATASET SOURCE --out DATASET_DIR`` (``--list``: datasets).

    Writes DATASET_DIR/datalist.json (decathlon style, paths relative to DATASET_DIR) and
    DATASET_DIR/conversion_report.json; run ``prism check-dataset DATASET_DIR --bundle NAME`` next.
    """
    if list:
        _print_list()
        return
    if dataset is None or source is None or out is None:
        raise ConversionError("usage: prism convert DATASET SOURCE --out DATASET_DIR (prism convert --list: datasets).")
    for name, value, kind in (
        ("seed", seed, int),
        ("folds", folds, int),
        ("val_fraction", val_fraction, float),
        ("overwrite", overwrite, bool),
    ):
        _check_type(name, value, kind)
    if horizon is not None:
        _check_type("horizon", horizon, int)
    result = convert(
        str(dataset),
        source,
        out,
        task=task,
        seed=seed,
        val_fraction=val_fraction,
        folds=folds,
        overwrite=overwrite,
        sequence=sequence,
        horizon=horizon,
        register=register,
    )
    counts = ", ".join(f"{name} {n}" for name, n in sorted(result.counts.items()))
    print(f"{result.out}: {counts}; {result.skipped} case(s) skipped (reasons in {result.report.name}).")
    for path in result.datalists:
        print(f"  wrote {path}")
