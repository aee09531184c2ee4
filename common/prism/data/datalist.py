"""The pretraining datalist: one record per 3-D volume with its acquisition metadata.

Format (MONAI decathlon style, read by ``monai.data.load_decathlon_datalist`` or :func:`load_datalist`)::

    {"training": [record, ...], "validation": [record, ...]}

Each record has exactly the keys of :data:`RECORD_KEYS`; an unknown value is an explicit ``null``:

- ``image``: path of the NIfTI volume, relative to the datalist's folder (or absolute).
- ``subject``, ``session``: identifiers (BIDS ``sub-``/``ses-`` entities, or DICOM PatientID / StudyDate).
- ``sequence``: one of :data:`SEQUENCES`.
- ``tr``, ``te``, ``ti``: repetition, echo and inversion time in ms; ``flip_angle`` in degrees;
  ``field_strength`` in tesla.
- ``body_region``: a name of ``prism.vocabulary.BODY_REGIONS`` (e.g. ``brain``).
- ``dataset``: the source dataset's name.

Splits are by subject: all volumes of a subject (within a dataset) go to the same split.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from prism.vocabulary import NUMERIC_KEYS, RECORD_KEYS, SEQUENCES

__all__ = [
    "SEQUENCES",
    "RECORD_KEYS",
    "NUMERIC_KEYS",
    "make_record",
    "split_by_subject",
    "write_datalist",
    "load_datalist",
]


def make_record(
    image: str | os.PathLike,
    subject: str,
    *,
    session: str | None = None,
    sequence: str = "other",
    tr: float | None = None,
    te: float | None = None,
    ti: float | None = None,
    flip_angle: float | None = None,
    field_strength: float | None = None,
    body_region: str | None = None,
    dataset: str | None = None,
) -> dict[str, Any]:
    """Build one validated datalist record (times in ms, flip angle in degrees, field in tesla).

    Raises:
        ValueError: for an unknown sequence, an empty subject, or a numeric value that is not a finite
            non-negative number (the message names the image).
    """
    if sequence not in SEQUENCES:
        raise ValueError(f"{image}: sequence must be one of {SEQUENCES}, got {sequence!r}.")
    if not str(subject).strip():
        raise ValueError(f"{image}: subject must not be empty.")
    record: dict[str, Any] = {
        "image": str(image),
        "subject": str(subject),
        "session": None if session is None else str(session),
        "sequence": sequence,
        "tr": tr,
        "te": te,
        "ti": ti,
        "flip_angle": flip_angle,
        "field_strength": field_strength,
        "body_region": body_region,
        "dataset": dataset,
    }
    for key in NUMERIC_KEYS:
        value = record[key]
        if value is None:
            continue
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{image}: {key} must be a finite number >= 0 or null, got {record[key]!r}.")
        record[key] = value
    return record


def split_by_subject(
    records: Sequence[dict[str, Any]], val_fraction: float = 0.1, seed: int = 0
) -> dict[str, list[dict[str, Any]]]:
    """Split records into training and validation by subject, never by volume.

    A subject is identified by (dataset, subject). Subjects are shuffled with ``seed`` and the first
    ``round(val_fraction * n_subjects)`` (at least one when ``val_fraction > 0`` and there are two or more
    subjects) go to validation.

    Returns:
        ``{"training": [...], "validation": [...]}``, each in the input order.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}.")
    subjects = sorted({(str(r["dataset"]), str(r["subject"])) for r in records})
    order = np.random.default_rng(seed).permutation(len(subjects))
    n_val = int(round(val_fraction * len(subjects)))
    if val_fraction > 0 and n_val == 0 and len(subjects) > 1:
        n_val = 1
    validation = {subjects[i] for i in order[:n_val]}
    split: dict[str, list[dict[str, Any]]] = {"training": [], "validation": []}
    for record in records:
        key = (str(record["dataset"]), str(record["subject"]))
        split["validation" if key in validation else "training"].append(record)
    return split


def write_datalist(split: dict[str, list[dict[str, Any]]], path: str | os.PathLike) -> Path:
    """Write ``split`` as decathlon-style JSON, image paths made relative to the file's folder.

    ``monai.data.load_decathlon_datalist`` joins *any* string value with the datalist's folder when the
    joined path exists; a warning is given when that would rewrite a record (for example a datalist written
    inside a BIDS root, next to a ``sub-001`` folder). :func:`load_datalist` has no such ambiguity.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    base = out.parent.resolve()
    payload: dict[str, list[dict[str, Any]]] = {}
    clashes = set()
    for name, records in split.items():
        payload[name] = []
        for record in records:
            item = dict(record)
            item["image"] = os.path.relpath(Path(record["image"]).resolve(), base)
            for key, value in item.items():
                if key != "image" and isinstance(value, str) and (base / value).exists():
                    clashes.add(f"{key}={value!r}")
            payload[name].append(item)
    if clashes:
        warnings.warn(
            f"{out}: values {sorted(clashes)[:5]} name existing paths next to the datalist; "
            "monai.data.load_decathlon_datalist would turn them into paths. Write the datalist elsewhere "
            "or read it with prism.data.datalist.load_datalist.",
            stacklevel=2,
        )
    out.write_text(json.dumps(payload, indent=1) + "\n")
    return out


def load_datalist(path: str | os.PathLike, split: str = "training") -> list[dict[str, Any]]:
    """Read one split of a datalist; only ``image`` is resolved against the datalist's folder.

    Raises:
        ValueError: when the file is not a datalist or has no such split (naming the file).
    """
    source = Path(path)
    try:
        payload = json.loads(source.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{source}: cannot read the datalist ({error}).") from error
    if not isinstance(payload, dict) or split not in payload:
        keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(f"{source}: no split {split!r} in the datalist (found {keys}).")
    records = []
    for record in payload[split]:
        item = dict(record)
        item["image"] = str((source.parent / item["image"]).resolve())
        records.append(item)
    return records
