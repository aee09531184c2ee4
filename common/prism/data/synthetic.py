"""Small simulated datasets in a task's own channel and label layout, for smoke tests and demos.

The simulator (:mod:`prism.data.simulator`) gives multi-sequence brain volumes with exact tissue labels.
For a task, its sequences become the task's channels and its tissue labels are relabelled into the task's
label-file values, so a bundle reads them exactly as it would read the real dataset: one file per sequence
key, a label map with the dataset's values, a decathlon-style ``datalist.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import nibabel as nib
import numpy as np

from prism.data.anatomy import TISSUE_LABELS
from prism.data.simulator import simulate_corpus
from prism.tasks.spec import Task

__all__ = ["SIMULATED_SEQUENCES", "simulate_base_corpus", "make_task_dataset"]

# Simulator series used for task channels; a task channel whose name contains a key takes that series,
# the others cycle through the list.
SIMULATED_SEQUENCES: tuple[str, ...] = ("t1w_se", "t2w", "flair", "pdw", "dwi_b1000", "dce")
_BY_NAME = {"flair": "flair", "t1ce": "dce", "dce": "dce", "adc": "dwi_b1000", "dwi": "dwi_b1000",
            "hbv": "dwi_b1000", "t2": "t2w", "pd": "pdw", "t1": "t1w_se"}  # fmt: skip
# Tissues (simulator label names) given to a task's classes in order; lesion tasks take the lesion first.
_ORGAN_TISSUES = ("wm", "gm", "csf", "fat", "bone", "skin")
_TISSUE_VALUE = {name: value for value, name in TISSUE_LABELS.items()}


def simulate_base_corpus(
    out_dir: str | Path, subjects: int = 4, seed: int = 0, shape: int | Sequence[int] = 40, spacing: float = 5.0
) -> list[dict]:
    """Simulate the shared corpus the task datasets are cut from (every subject has a lesion, no series motion)."""
    return simulate_corpus(
        out_dir,
        subjects=subjects,
        seed=seed,
        shape=shape,
        spacing=spacing,
        lesion_probability=1.0,
        sequences=SIMULATED_SEQUENCES,
        series_motion=False,
    )


def _series_for(channels: Sequence[str]) -> list[str]:
    chosen, free = [], [s for s in SIMULATED_SEQUENCES]
    for channel in channels:
        key = channel.lower()
        match = next((s for k, s in _BY_NAME.items() if k in key), None)
        chosen.append(match or free[len(chosen) % len(free)])
    return chosen


def _task_labels(tissue: np.ndarray, task: Task) -> np.ndarray:
    """Relabel a simulator tissue map into the task's label-file values."""
    out = np.zeros(tissue.shape, dtype=np.int16)
    tissues = ("lesion",) + _ORGAN_TISSUES if task.family == "lesion_seg" else _ORGAN_TISSUES + ("lesion",)
    for tissue_name, label in zip(tissues, task.labels):
        out[tissue == _TISSUE_VALUE[tissue_name]] = label.value
    extra_background = [v for v in task.background_values if v != 0]
    if extra_background:  # e.g. the liver in a liver-tumour task: present in the file, background for the task
        out[(tissue == _TISSUE_VALUE["wm"]) & (out == 0)] = extra_background[0]
    return out


def make_task_dataset(
    task: Task,
    corpus: list[dict],
    out_dir: str | Path,
    n_train: int = 2,
    splits: Sequence[str] = ("validation", "test"),
) -> Path:
    """Write ``task``'s dataset cut from a simulated ``corpus`` and return its ``datalist.json``.

    Args:
        task: a segmentation task of the registry.
        corpus: :func:`simulate_base_corpus` output; the first ``n_train`` subjects train, the rest fill
            each of ``splits`` (the same cases, with labels).
        out_dir: dataset folder (the bundle's ``dataset_dir``); files are ``<case>/<case>_<key>.nii.gz``.
        n_train: subjects in the ``training`` list.
        splits: other datalist lists to write.
    """
    if not task.is_segmentation:
        raise ValueError(f"{task.name}: synthetic data are made for segmentation tasks only.")
    if not 0 < n_train < len(corpus):
        raise ValueError(f"n_train must be in [1, {len(corpus) - 1}] for a corpus of {len(corpus)}, got {n_train}.")
    out = Path(out_dir)
    series = _series_for(task.channels)
    entries = []
    for subject in corpus:
        case = subject["subject"].replace("-", "")
        (out / case).mkdir(parents=True, exist_ok=True)
        entry = {"case": case}
        for key, name in zip(task.input_keys, series):
            src = nib.load(subject["images"][name])
            nib.save(nib.Nifti1Image(np.asanyarray(src.dataobj), src.affine), out / case / f"{case}_{key}.nii.gz")
            entry[key] = f"{case}/{case}_{key}.nii.gz"
        tissue = nib.load(subject["labels"])
        labels = _task_labels(np.asanyarray(tissue.dataobj), task)
        nib.save(nib.Nifti1Image(labels, tissue.affine), out / case / f"{case}_label.nii.gz")
        entry["label"] = f"{case}/{case}_label.nii.gz"
        entries.append(entry)
    datalist = {"training": entries[:n_train], **{s: entries[n_train:] for s in splits}}
    path = out / "datalist.json"
    path.write_text(json.dumps(datalist, indent=2))
    return path
