"""The conversion pipeline shared by every dataset: discover cases, check labels, split, write the datalist.

A dataset module declares a :class:`DatasetSpec` (where the data comes from, its licence and citation, the
bundles it feeds) and a ``discover(run)`` function that walks the download as it unpacks and calls
``run.add(Case(...))`` once per case. Everything else happens here, the same way for every dataset:

- files a bundle reads directly are referenced through one link, ``DATASET_DIR/source`` -> the download
  (never copied); what it cannot read (PNG stacks, ``.npy``, DICOM series, 4-D files, per-structure masks)
  is converted to NIfTI under ``DATASET_DIR/nifti/<case>/``;
- every segmentation label is read: its values are recorded, mapped onto the registry's layout
  (:mod:`prism.data.convert.labels`) and its grid compared with the first input's; a label whose header
  differs from the image's by less than half a voxel gets the image's header (annotations are drawn on the
  image's voxels); anything else skips the case with the reason;
- one case that cannot be read never stops the conversion: it is listed in ``conversion_report.json`` with
  its reason; problems with the whole conversion (wrong folder, registry mismatch) raise
  :class:`~prism.data.convert.files.ConversionError`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prism.data.convert.files import ConversionError, list_files, prepare_output, relative_inside
from prism.data.convert.labels import label_values, plan_labels, relabel
from prism.data.convert.splits import SPLITS, plan_splits
from prism.data.convert.tables import normalise_header
from prism.data.convert.volumes import grid_difference, read_grid, read_volume, write_nifti
from prism.data.dicom import DicomSkip
from prism.tasks.registry import get_task
from prism.tasks.spec import Task

__all__ = ["Case", "CaseSkip", "Conversion", "ConversionResult", "DatasetSpec", "resolve_task", "run_conversion"]

SOURCE_LINK = "source"
NIFTI_DIR = "nifti"
REPORT = "conversion_report.json"
# Below this, two grids are the same grid written with float rounding: nothing is rewritten.
_SAME_GRID_MM = 1e-3
_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class CaseSkip(Exception):
    """One case cannot be converted; the message is the reason written to the report."""


@dataclass
class Case:
    """One datalist record before its paths are final.

    Args:
        case: unique id (letters, digits, ``._+-``).
        subject: the patient; every case of a subject lands in the same list.
        images: datalist key -> path relative to the dataset folder (from :meth:`Conversion.link` or
            :meth:`Conversion.write`).
        label: segmentation label path (relative to the dataset folder), checked and mapped by the pipeline.
        split: the dataset's official list (``training``, ``validation``, ``test``) or None.
        fold: the dataset's official cross-validation fold, or None.
        fields: further record keys (classification ``label``, ``age``, ``site``, ``sex``, registration labels).
    """

    case: str
    subject: str
    images: dict[str, str]
    label: str | None = None
    split: str | None = None
    fold: int | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _CASE_ID.match(self.case) or self.case in (SOURCE_LINK, NIFTI_DIR):
            raise ConversionError(f"case id {self.case!r} is not a plain name (letters, digits, '._+-').")
        if not str(self.subject).strip():
            raise ConversionError(f"case {self.case!r}: empty subject.")
        if self.split not in (None, *SPLITS):
            raise ConversionError(f"case {self.case!r}: split {self.split!r} is not one of {SPLITS}.")


@dataclass(frozen=True)
class DatasetSpec:
    """A public dataset: where it comes from, what it feeds, and how to discover its cases.

    Args:
        name: the ``prism convert`` name.
        title: the dataset's usual name.
        tasks: registry task names the dataset feeds (``--task`` picks one; the first is the default).
        download: the publisher's download page.
        release: the release whose layout the converter follows (named in docs/datasets.md).
        licence: the publisher's licence or terms.
        citation: the publisher's requested citation.
        layout: the folder tree SOURCE must have (for ``--list`` and error messages).
        discover: ``discover(run)`` calls ``run.add`` once per case.
        label_meaning: label value -> class name where the registry alone does not tell.
        options: dataset options (``--sequence``, ``--horizon``...) -> allowed values (an empty tuple: any).
        defaults: default value of each option.
        pairs: registration across subjects: ``pairs(run, cases of one list)`` makes that list's pairs after
            the subjects are split (so no pair joins two lists).
    """

    name: str
    title: str
    tasks: tuple[str, ...]
    download: str
    release: str
    licence: str
    citation: str
    layout: str
    discover: Callable[[Conversion], None]
    label_meaning: Mapping[int, str] = field(default_factory=dict)
    options: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    pairs: Callable[[Conversion, list[Case]], list[Case]] | None = None

    @property
    def bundles(self) -> tuple[str, ...]:
        """Bundle names fed (``("any",)`` for the generic manifest)."""
        return tuple(f"prism_{t}" for t in self.tasks) or ("any",)


class Conversion:
    """The state of one conversion, handed to a dataset's ``discover``: helpers to find, link and write files.

    Attributes:
        spec, task: the dataset and the task converted for.
        source: the download (read only); out: the dataset folder written.
        options: dataset options with defaults filled in.
    """

    def __init__(self, spec: DatasetSpec, task: Task, source: Path, out: Path, options: Mapping[str, Any]) -> None:
        self.spec, self.task, self.source, self.out = spec, task, source, out
        self.options = dict(options)
        self.cases: list[Case] = []
        self.skipped: list[dict[str, str]] = []
        self.notes: list[str] = []
        self.ignored: list[Path] = []
        self.label_values: dict[str, list[int]] = {}
        self.label_changes: dict[str, str] = {}
        self.written: list[str] = []
        self.datalists: list[Path] = []

    # ---------------------------------------------------------------- finding and referencing files
    def glob(self, pattern: str, root: Path | None = None) -> list[Path]:
        """Files matching ``pattern`` under ``root`` (default: the download), AppleDouble and hidden files left out."""
        return list_files(self.source if root is None else root, pattern, self.ignored)

    def require(self, path: Path, what: str = "file") -> Path:
        """``path`` if it exists, else skip the case naming the missing file."""
        if not path.exists():
            raise CaseSkip(f"missing {what} {relative_inside(path, self.source)}")
        return path

    def link(self, path: Path) -> str:
        """Datalist path of a download file a bundle reads directly: through ``DATASET_DIR/source``, not copied."""
        self.require(path)
        return f"{SOURCE_LINK}/{relative_inside(path, self.source)}"

    def resolve(self, datalist_path: str) -> Path:
        """The file behind a datalist path (relative to the dataset folder)."""
        return self.out / datalist_path

    # ---------------------------------------------------------------- writing converted files
    def target(self, case: str, key: str) -> tuple[Path, str]:
        """Where a converted file of ``case``/``key`` goes: (absolute path, datalist path)."""
        relative = f"{NIFTI_DIR}/{case}/{case}_{key}.nii.gz"
        return self.out / relative, relative

    def write(
        self, case: str, key: str, array: np.ndarray, affine: np.ndarray, label: bool = False, replace: bool = False
    ) -> str:
        """Write a converted volume as NIfTI under ``nifti/<case>/`` and return its datalist path.

        Args:
            replace: rewrite a file this conversion wrote before (a merged label being remapped).

        Raises:
            ConversionError: when two cases would write the same file (a converter bug, never overwritten).
        """
        path, relative = self.target(case, key)
        if relative in self.written and not replace:
            raise ConversionError(f"{relative} would be written twice (case ids must be unique).")
        if relative in self.written:
            self.written.remove(relative)
        array = np.asarray(array)
        if array.ndim < 3:
            raise CaseSkip(f"{key}: a {array.ndim}-D array, not a volume")
        write_nifti(path, array, affine, label=label)
        self.written.append(relative)
        return relative

    def dicom_series(self, files: Sequence[Path], case: str, key: str, description: str | None = None) -> str:
        """Convert one DICOM series to NIfTI (RAS) and return the datalist path.

        ``files`` may mix several series (an archive that stores a study in one folder): they are grouped by
        SeriesInstanceUID, and ``description`` (a regular expression, matched case-blind against
        SeriesDescription) picks the one wanted.

        Raises:
            CaseSkip: for no files, not exactly one (matching) series, or what :func:`series_to_nifti` rejects.
        """
        from prism.data.dicom import group_series, read_dicom_header, series_to_nifti

        if not files:
            raise CaseSkip(f"{key}: no DICOM files")
        series = group_series([read_dicom_header(f, force=True) for f in files])
        if description is not None:
            series = {
                uid: items for uid, items in series.items()
                if re.search(description, str(items[0].dataset.get("SeriesDescription", "")), re.IGNORECASE)
            }  # fmt: skip
        if len(series) != 1:
            wanted = f" matching {description!r}" if description is not None else ""
            raise CaseSkip(f"{key}: {len(series)} DICOM series{wanted} where one was expected")
        path, relative = self.target(case, key)
        series_to_nifti(next(iter(series.values())), path)
        self.written.append(relative)
        return relative

    # ---------------------------------------------------------------- cases
    @contextlib.contextmanager
    def attempt(self, case: str) -> Iterator[None]:
        """Run one case's work; a case that cannot be read is skipped with its reason, the conversion goes on."""
        try:
            yield
        except ConversionError:
            raise
        except (CaseSkip, DicomSkip) as reason:
            self.skip(case, str(reason))
        except (OSError, ValueError, RuntimeError, EOFError, zlib.error) as error:
            self.skip(case, f"{type(error).__name__}: {error}")

    def add(self, case: Case) -> None:
        """Register a discovered case (ids must be unique)."""
        if any(c.case == case.case for c in self.cases):
            raise ConversionError(f"case id {case.case!r} found twice in the download.")
        self.cases.append(case)

    def skip(self, case: str, reason: str) -> None:
        self.skipped.append({"case": case, "reason": reason})

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # ---------------------------------------------------------------- the registry's vocabulary
    def channel_keys(self, files: Mapping[str, Any]) -> dict[str, Any]:
        """``{channel name: x}`` -> ``{datalist key: x}`` in the task's channel order.

        Raises:
            ConversionError: when the task lists a channel the converter does not provide.
        """
        missing = [c for c in self.task.channels if c not in files]
        if missing:
            raise ConversionError(
                f"task {self.task.name!r} takes channels {list(self.task.channels)}; the {self.spec.name} converter "
                f"provides {list(files)} (missing {missing}): the registry and the converter disagree."
            )
        return {key: files[channel] for channel, key in zip(self.task.channels, self.task.input_keys)}

    def key_of(self, channel: str) -> str:
        """The datalist key of one of the task's channels."""
        if channel not in self.task.channels:
            raise ConversionError(f"task {self.task.name!r} has no channel {channel!r} ({list(self.task.channels)}).")
        return self.task.input_keys[self.task.channels.index(channel)]

    def class_name(self, candidate: str) -> str:
        """The registry's name for a class the dataset calls ``candidate`` (matched case- and punctuation-blind).

        When the task declares no classes yet, ``candidate`` is used and the report says so.

        Raises:
            ConversionError: when the task declares classes and none matches.
        """
        names = self.task.class_names
        if not names:
            self.note(
                f"task {self.task.name!r} declares no classes in the registry: the dataset's class names are used."
            )
            return candidate
        for name in names:
            if normalise_header(name) == normalise_header(candidate):
                return name
        raise ConversionError(
            f"the dataset's class {candidate!r} is none of task {self.task.name!r}'s classes {list(names)}."
        )


@dataclass(frozen=True)
class ConversionResult:
    """Where the datalists and the report went, and the counts the command prints."""

    out: Path
    datalists: tuple[Path, ...]
    report: Path
    counts: dict[str, int]
    skipped: int


def _check_label(run: Conversion, case: Case) -> None:
    """Read a case's label: record its values, map them, compare its grid with the first input's."""
    assert case.label is not None
    label_path = run.resolve(case.label)
    volume = read_volume(label_path)
    values = label_values(volume.array, case.label)
    run.label_values[case.label] = values
    plan = plan_labels(values, run.task, run.spec.label_meaning)
    if plan.unknown:
        accepted = sorted(run.task.raw_to_index())
        raise CaseSkip(f"label values {list(plan.unknown)} are not in the task's layout {accepted}")
    if volume.array.ndim == 4 and volume.array.shape[3] == 1:
        volume = type(volume)(volume.array[..., 0], volume.affine)
    if volume.array.ndim != 3:
        raise CaseSkip(f"label of shape {volume.shape} is not a 3-D label map")
    first = run.task.input_keys[0]
    shape, affine = read_grid(run.resolve(case.images[first]))
    difference = grid_difference(shape, affine, volume.shape, volume.affine)
    if not difference.same_shape:
        raise CaseSkip(f"label and {first!r} grids differ: {difference.describe()}")
    half_voxel = 0.5 * float(np.min(np.linalg.norm(affine[:3, :3], axis=0)))
    adopt = _SAME_GRID_MM < difference.corner_mm
    if adopt and difference.corner_mm > half_voxel:
        raise CaseSkip(f"label and {first!r} grids differ: {difference.describe()}")
    if not plan.remap and not adopt:
        return
    changes = []
    if plan.remap:
        changes.append(f"values {plan.remap} rewritten")
    if adopt:
        changes.append(f"the image's header adopted (grids were {difference.corner_mm:.3g} mm apart)")
    array = relabel(volume.array, plan.remap) if plan.remap else volume.array
    replace = case.label in run.written
    case.label = run.write(case.case, "label", array, affine if adopt else volume.affine, label=True, replace=replace)
    run.label_changes[case.case] = "; ".join(changes)


def _record(case: Case, fold: int | None) -> dict[str, Any]:
    record: dict[str, Any] = {"case": case.case, "subject": case.subject, **case.images}
    if case.label is not None:
        record["label"] = case.label
    record.update(case.fields)
    if fold is not None:
        record["fold"] = fold
    return record


def _records(run: Conversion, cases: Sequence[Case], assignment: Mapping[str, str], folds: Mapping[str, int]):
    lists: dict[str, list[dict[str, Any]]] = {}
    for name in SPLITS:
        members = [c for c in cases if assignment[c.case] == name]
        if run.spec.pairs is not None:
            if len(members) == 1:
                run.note(f"{name} has one subject ({members[0].case}): no pair can be formed there.")
            members = run.spec.pairs(run, members)
            lists[name] = [_record(c, None) for c in members]
        else:
            lists[name] = [_record(c, folds.get(c.case)) for c in members]
    return {name: records for name, records in lists.items() if records or name != "test"}


def _finish_cases(run: Conversion) -> list[Case]:
    """Label checks for segmentation tasks; cases the task cannot use are skipped with the reason."""
    kept = []
    for case in run.cases:
        needs_label = run.task.is_segmentation and (run.task.is_external or case.split != "test")
        if run.task.is_segmentation and case.label is None and needs_label:
            reason = "no label (an external task only evaluates)" if run.task.is_external else "no label"
            run.skip(case.case, reason)
            continue
        before = len(run.skipped)
        with run.attempt(case.case):
            if run.task.is_segmentation and case.label is not None:
                _check_label(run, case)
        if len(run.skipped) == before:
            kept.append(case)
    return kept


def _check_test_labels(cases: Sequence[Case]) -> None:
    labelled = {c.label is not None for c in cases if c.split == "test"}
    if len(labelled) > 1:
        raise ConversionError("the test list mixes cases with and without labels.")


def run_conversion(
    spec: DatasetSpec,
    source: Path,
    out: Path,
    task: Task,
    *,
    seed: int,
    val_fraction: float,
    folds: int,
    overwrite: bool,
    options: Mapping[str, Any],
) -> ConversionResult:
    """Convert ``source`` (the download) into ``out`` (the bundle's ``dataset_dir``); see the module docstring."""
    if not source.is_dir():
        raise ConversionError(f"{source}: the download folder does not exist. Expected layout:\n{spec.layout}")
    owned = (SOURCE_LINK, NIFTI_DIR, "datalist.json", "datalist_fold*.json", REPORT)
    prepare_output(out, source, overwrite, owned)
    out.mkdir(parents=True, exist_ok=True)
    os.symlink(source.resolve(), out / SOURCE_LINK, target_is_directory=True)
    run = Conversion(spec, task, source, out, options)
    try:
        return _convert(run, seed=seed, val_fraction=val_fraction, folds=folds)
    except BaseException:
        _discard(run)
        raise


def _discard(run: Conversion) -> None:
    """Remove what a failed conversion wrote, so the folder can be used again (nothing else is touched)."""
    for relative in run.written:
        (run.out / relative).unlink(missing_ok=True)
    for folder in sorted({(run.out / r).parent for r in run.written}, reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()
    with contextlib.suppress(OSError):
        (run.out / NIFTI_DIR).rmdir()
    for path in run.datalists:
        path.unlink(missing_ok=True)
    (run.out / SOURCE_LINK).unlink(missing_ok=True)


def _convert(run: Conversion, *, seed: int, val_fraction: float, folds: int) -> ConversionResult:
    spec, task, source, out = run.spec, run.task, run.source, run.out
    spec.discover(run)
    if not run.cases and not run.skipped:
        raise ConversionError(f"{source}: no case of {spec.title} found. Expected layout:\n{spec.layout}")
    cases = _finish_cases(run)
    if not cases:
        reasons = "; ".join(f"{s['case']}: {s['reason']}" for s in run.skipped[:5])
        raise ConversionError(f"none of the {len(run.skipped)} case(s) found could be converted ({reasons}).")
    _check_test_labels(cases)
    plan = plan_splits(cases, val_fraction=val_fraction, seed=seed, folds=folds, external=task.is_external)
    names = ["datalist.json"] if folds == 0 else ["datalist.json"] + [f"datalist_fold{k}.json" for k in range(folds)]
    lists = [plan.lists[0]] if folds == 0 else [plan.lists[0], *plan.lists]
    written = []
    for name, assignment in zip(names, lists):
        path = out / name
        run.datalists.append(path)
        records = _records(run, cases, assignment, plan.folds)
        path.write_text(json.dumps(records, indent=1) + "\n")
        written.append(records)
    counts = {name: len(records) for name, records in written[0].items()}
    report = {
        "dataset": spec.name,
        "title": spec.title,
        "task": task.name,
        "bundle": task.bundle_name,
        "source": str(source.resolve()),
        "release": spec.release,
        "download": spec.download,
        "licence": spec.licence,
        "citation": spec.citation,
        "options": dict(run.options),
        "seed": seed,
        "val_fraction": val_fraction,
        "folds": folds,
        "splits": plan.how,
        "cases_found": len(run.cases) + len({s["case"] for s in run.skipped} - {c.case for c in run.cases}),
        "cases_written": {name: counts.get(name, 0) for name in SPLITS},
        "skipped": run.skipped,
        "ignored_files": [relative_inside(p, source) for p in run.ignored],
        "label_values": run.label_values,
        "label_changes": run.label_changes,
        "notes": run.notes,
        "outputs": [SOURCE_LINK, *([NIFTI_DIR] if run.written else []), *names],
    }
    report_path = out / REPORT
    report_path.write_text(json.dumps(report, indent=1) + "\n")
    return ConversionResult(out, tuple(run.datalists), report_path, counts, len(run.skipped))


def resolve_task(spec: DatasetSpec, task: str | None) -> Task:
    """The task converted for: ``task`` (checked against the dataset's) or the dataset's first."""
    if task is None:
        if not spec.tasks:
            raise ConversionError(f"{spec.name} can feed any bundle: name one with --task (prism tasks lists them).")
        return get_task(spec.tasks[0])
    chosen = get_task(task)
    if spec.tasks and chosen.name not in spec.tasks:
        raise ConversionError(f"--task {task!r}: {spec.name} feeds {list(spec.tasks)}.")
    return chosen
