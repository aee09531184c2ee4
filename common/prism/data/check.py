"""``prism check-dataset``: check a dataset folder against a bundle before any training, and list every problem.

A bundle finds a bad case only when it reaches it, one at a time, often deep in an epoch. This reads the
whole datalist once, the way the bundle will, and reports everything at once:

- the datalist: readable, with ``training``/``validation``/``test`` lists, the keys the task's family needs
  (sequences per case, labels, targets) and target values the task knows (class names, ages);
- every file: exists and loads (MONAI's ``LoadImaged``, as the bundle reads it); the bundle's own input
  checks (:class:`prism.bundle.CheckVolumed`: 3-D, no 2-D slice, no NaN/inf;
  :class:`prism.bundle.CheckLabelValuesd`: label values the registry declares); no empty (constant) image;
- geometry: each label against the image it annotates (shape, and how far apart the grids' corners are, with
  spacing, origin and axis differences), within ``tolerance_mm``;
- subjects: none in two lists; files: none used twice where a file must be unique, none a byte-for-byte copy
  of another.

The result prints as a short summary table followed by every problem; the command exits with status 1 when
there is any.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prism.data.convert.volumes import grid_difference
from prism.tasks.registry import get_task
from prism.tasks.spec import Task

__all__ = ["CHECKS", "DatasetCheck", "Problem", "check_dataset", "check_dataset_command"]

SPLITS = ("training", "validation", "test")
# check name -> what it covers (the summary table's rows, in this order)
CHECKS: dict[str, str] = {
    "datalist": "datalist readable, lists present",
    "keys": "sequences, labels and targets present per case",
    "targets": "class names and ages the task accepts",
    "files": "files exist and load",
    "dimensions": "3-D volumes, no 2-D slice",
    "finite": "no NaN or infinite voxels",
    "empty": "no empty (constant) image",
    "labels": "label values the task declares",
    "geometry": "label and image grids agree",
    "orientation": "NIfTI files say how they lie in space (qform or sform)",
    "size": "volumes fit in memory at the bundle's voxel size",
    "subjects": "no subject in two lists",
    "duplicates": "no file used twice or copied",
}
_AGE_RANGE = (0.0, 120.0)
# Above this many voxels per channel after resampling to the bundle's spacing (2 GiB as float32), a volume is
# reported: it would not fit a training step (a header with 0.1 mm voxels, or a whole-body scan at 0.5 mm).
MAX_VOXELS = 2**29


@dataclass(frozen=True)
class Problem:
    """One problem: which check found it, where (list and case), and the message a user reads."""

    check: str
    split: str
    case: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.split}/{self.case}: {self.message}"


@dataclass
class DatasetCheck:
    """The outcome: counts per list and every problem found."""

    dataset_dir: Path
    task: Task
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, check: str, split: str, case: str, message: str) -> None:
        self.problems.append(Problem(check, split, case, message))

    def summary(self) -> str:
        """The short table: cases, subjects and files per list, then problems per check."""
        lines = [
            f"{self.dataset_dir} against {self.task.bundle_name}",
            f"{'list':12s}{'cases':>7s}{'subjects':>10s}{'files':>7s}",
        ]
        for split, count in self.counts.items():
            lines.append(f"{split:12s}{count['cases']:7d}{count['subjects']:10d}{count['files']:7d}")
        found = Counter(p.check for p in self.problems)
        lines.append(f"{'check':12s}{'problems':>9s}  covers")
        lines += [f"{name:12s}{found.get(name, 0):9d}  {what}" for name, what in CHECKS.items()]
        lines.append("OK" if self.ok else f"{len(self.problems)} problem(s):")
        return "\n".join(lines)


def _expected(task: Task) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, str]]:
    """(required file keys, optional file keys, label key -> the image key it annotates) of the task's family."""
    if task.family == "registration":
        return ("moving", "fixed"), ("moving_label", "fixed_label"), {"moving_label": "moving", "fixed_label": "fixed"}
    if task.family == "progression":
        return ("baseline",), ("followup",), {}
    if task.is_segmentation:
        return task.input_keys, ("label",), {"label": task.input_keys[0]}
    return task.input_keys, (), {}


def _target_key(task: Task) -> str | None:
    if task.is_segmentation or task.family == "registration":
        return None
    return "age" if task.family == "age" else "label"


class _Loader:
    """Loads each file once, as a bundle does (MONAI LoadImaged, channel first), remembering failures."""

    def __init__(self) -> None:
        from monai.transforms import LoadImage

        self._load = LoadImage(image_only=True, ensure_channel_first=True)
        self.cache: dict[str, Any] = {}

    def __call__(self, path: str):
        if path not in self.cache:
            try:
                self.cache[path] = self._load(path)
            except Exception as error:  # readers raise many types on damaged files
                cause = error.__cause__ or error
                self.cache[path] = ValueError(f"{path}: cannot be loaded ({type(cause).__name__}: {cause})")
        return self.cache[path]


def _classify(message: str) -> str:
    if "NaN" in message or "infinite" in message:
        return "finite"
    return "dimensions"


def _check_volume(result: DatasetCheck, split: str, case: str, key: str, path: str, volume, task: Task) -> None:
    from prism.bundle.checks import CheckLabelValuesd, CheckVolumed

    try:
        CheckVolumed([key])({key: volume})
    except ValueError as error:
        result.add(_classify(str(error)), split, case, str(error))
        return
    if key == "label" and task.is_segmentation:
        try:
            CheckLabelValuesd([key], allowed=sorted(task.raw_to_index()))({key: volume})
        except ValueError as error:
            result.add("labels", split, case, str(error))
    elif not key.endswith("label"):
        array = np.asarray(volume)
        if array.size and float(array.max()) == float(array.min()):
            result.add("empty", split, case, f"{path}: image {key!r} is empty (every voxel is {float(array.min()):g}).")


def _check_header(result: DatasetCheck, split: str, case: str, key: str, path: str, volume, task: Task) -> None:
    """A NIfTI file without orientation (qform and sform codes 0), and a volume too big at the bundle's spacing."""
    if path.endswith((".nii", ".nii.gz")):
        import nibabel as nib

        header = nib.load(path).header
        if int(header["qform_code"]) == 0 and int(header["sform_code"]) == 0:
            result.add(
                "orientation",
                split,
                case,
                f"{path}: {key!r} has qform and sform codes 0: its orientation is "
                "unknown (readers fall back to a guess). Write it with a qform or sform.",
            )
    if volume.ndim == 4:
        spacing = np.linalg.norm(np.asarray(volume.affine)[:3, :3], axis=0)
        voxels = float(np.prod(np.asarray(volume.shape[1:]) * spacing / np.asarray(task.spacing)))
        if voxels > MAX_VOXELS:
            result.add(
                "size",
                split,
                case,
                f"{path}: {key!r} would be {voxels / 1e6:.0f} million voxels at the bundle's "
                f"{list(task.spacing)} mm (limit {MAX_VOXELS / 1e6:.0f} million); check its voxel size.",
            )


def _check_target(result: DatasetCheck, task: Task, split: str, case: str, record: Mapping[str, Any]) -> None:
    key = _target_key(task)
    if key is None or key not in record:
        return
    value = record[key]
    if key == "age":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or not _AGE_RANGE[0] <= value <= _AGE_RANGE[1]:
            result.add("targets", split, case, f"age {value!r} is not a number of years in {list(_AGE_RANGE)}.")
        return
    multi = task.family == "abnormality"
    if multi and not isinstance(value, list):
        result.add("targets", split, case, f"label {value!r} should be a list of class names (multi-label task).")
        return
    if not multi and not isinstance(value, str):
        result.add("targets", split, case, f"label {value!r} should be one class name.")
        return
    names = value if multi else [value]
    if task.class_names:
        unknown = [n for n in names if n not in task.class_names]
        if unknown:
            result.add(
                "targets", split, case, f"label {unknown} not among the task's classes {list(task.class_names)}."
            )


def _read_datalist(result: DatasetCheck, path: Path) -> dict[str, list] | None:
    try:
        payload = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        result.add("datalist", "-", "-", f"{path}: cannot read the datalist ({error}).")
        return None
    lists = {s: payload[s] for s in SPLITS if isinstance(payload, dict) and isinstance(payload.get(s), list)}
    if not lists:
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        result.add("datalist", "-", "-", f"{path}: no training, validation or test list (found {found}).")
        return None
    return lists


def _check_keys(result: DatasetCheck, task: Task, split: str, case: str, record: Mapping[str, Any]) -> list[str]:
    """Required keys present (labels and targets in training/validation); return the file keys to load."""
    required, optional, _ = _expected(task)
    wanted = list(required)
    labelled = split != "test"
    if task.is_segmentation and labelled:
        wanted.append("label")
    missing = [k for k in wanted if record.get(k) in (None, "", [])]
    if missing:
        result.add(
            "keys", split, case, f"case {case!r}: {missing} missing (every {split} case needs {', '.join(wanted)})."
        )
    target = _target_key(task)
    if target is not None and labelled and target not in record:
        result.add("keys", split, case, f"case {case!r}: no {target!r} (every training and validation case needs one).")
    return [k for k in (*required, *optional) if isinstance(record.get(k), str) and record.get(k)]


def _sha1(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_dataset(
    dataset_dir: str | os.PathLike, bundle: str, datalist: str = "datalist.json", tolerance_mm: float = 0.01
) -> DatasetCheck:
    """Check ``dataset_dir``'s datalist against the bundle of task ``bundle`` (see the module docstring).

    Args:
        dataset_dir: the bundle's ``dataset_dir`` (datalist paths are relative to it).
        bundle: bundle or task name (``prism_brats2021_tumour_seg``), or a bundle folder.
        datalist: datalist file name inside ``dataset_dir``.
        tolerance_mm: largest distance between the corners of a label's and its image's grids.
    """
    root = Path(dataset_dir)
    name = Path(bundle).name if os.path.isdir(bundle) else bundle
    result = DatasetCheck(root, get_task(name))
    task = result.task
    lists = _read_datalist(result, root / datalist)
    if lists is None:
        return result
    load = _Loader()
    _, _, annotates = _expected(task)
    subjects: dict[str, set[str]] = defaultdict(set)
    uses: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    cases = Counter()
    for split, records in lists.items():
        files = set()
        for index, record in enumerate(records):
            case = (
                str(record.get("case") or record.get("id") or f"#{index}") if isinstance(record, dict) else f"#{index}"
            )
            if not isinstance(record, dict):
                result.add("datalist", split, case, f"entry {index} is not an object: {record!r}")
                continue
            cases[case] += 1
            subjects[str(record.get("subject") or case)].add(split)
            if record.get("fixed_subject"):
                subjects[str(record["fixed_subject"])].add(split)
            resolved = {k: str(root / v) for k, v in record.items() if isinstance(v, str) and k in _file_keys(task)}
            keys = _check_keys(result, task, split, case, {**record, **resolved})
            _check_target(result, task, split, case, record)
            for key in keys:
                path = resolved[key]
                files.add(path)
                uses[os.path.realpath(path)].append((split, case, key))
                if not os.path.exists(path):
                    result.add("files", split, case, f"the file for {key!r} does not exist: {record[key]}")
                    continue
                volume = load(path)
                if isinstance(volume, Exception):
                    result.add("files", split, case, str(volume))
                    continue
                _check_volume(result, split, case, key, path, volume, task)
                _check_header(result, split, case, key, path, volume, task)
            for label_key, image_key in annotates.items():
                _check_geometry(result, split, case, load, resolved, label_key, image_key, tolerance_mm)
        members = {str(r.get("subject") or r.get("case")) for r in records if isinstance(r, dict)}
        result.counts[split] = {"cases": len(records), "subjects": len(members), "files": len(files)}
    _check_subjects(result, subjects)
    _check_duplicates(result, task, cases, uses)
    return result


def _file_keys(task: Task) -> set[str]:
    required, optional, _ = _expected(task)
    return {*required, *optional}


def _check_geometry(result, split, case, load, resolved, label_key, image_key, tolerance_mm) -> None:
    if label_key not in resolved or image_key not in resolved:
        return
    label, image = load(resolved[label_key]), load(resolved[image_key])
    if isinstance(label, Exception) or isinstance(image, Exception) or label.ndim != 4 or image.ndim != 4:
        return
    difference = grid_difference(
        tuple(image.shape[1:]), np.asarray(image.affine), tuple(label.shape[1:]), np.asarray(label.affine)
    )
    if not difference.agrees(tolerance_mm):
        result.add(
            "geometry",
            split,
            case,
            f"{label_key!r} and {image_key!r} grids differ: {difference.describe()}; tolerance {tolerance_mm} mm.",
        )


def _check_subjects(result: DatasetCheck, subjects: Mapping[str, set[str]]) -> None:
    for subject, splits in sorted(subjects.items()):
        if len(splits) > 1:
            ordered = [s for s in SPLITS if s in splits]
            result.add(
                "subjects",
                "/".join(ordered),
                subject,
                f"subject {subject!r} is in more than one list: {', '.join(ordered)}.",
            )


def _check_duplicates(result: DatasetCheck, task: Task, cases: Counter, uses: Mapping[str, list]) -> None:
    for case, n in sorted(cases.items()):
        if n > 1:
            result.add("duplicates", "-", case, f"case id {case!r} appears {n} times.")
    if task.family != "registration":  # registration pairs share images by design
        for path, where in sorted(uses.items()):
            if len(where) > 1:
                places = ", ".join(f"{split}/{case}:{key}" for split, case, key in where)
                result.add("duplicates", where[0][0], where[0][1], f"{path} is used by {len(where)} entries: {places}.")
    by_content: dict[str, list[str]] = defaultdict(list)
    for path, where in uses.items():
        # label maps may repeat byte for byte (empty labels of negative cases); images may not
        if os.path.isfile(path) and not all(key.endswith("label") for _, _, key in where):
            by_content[_sha1(path)].append(path)
    for copies in by_content.values():
        if len(copies) > 1:
            result.add("duplicates", "-", "-", f"identical files: {', '.join(sorted(copies))}.")


def check_dataset_command(
    dataset_dir: str, bundle: str, datalist: str = "datalist.json", tolerance_mm: float = 0.01
) -> None:
    """Check a dataset folder against a bundle: ``prism check-dataset DATASET_DIR --bundle NAME``.

    Prints a summary table and every problem; exits with status 1 when there is any.
    """
    if isinstance(tolerance_mm, bool) or not isinstance(tolerance_mm, (int, float)) or tolerance_mm < 0:
        raise ValueError(f"--tolerance_mm must be a number >= 0, got {tolerance_mm!r}.")
    result = check_dataset(dataset_dir, bundle, datalist=datalist, tolerance_mm=float(tolerance_mm))
    print(result.summary())
    for problem in result.problems:
        print(f"  {problem}")
    if not result.ok:
        raise SystemExit(1)
