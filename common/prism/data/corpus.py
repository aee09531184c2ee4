"""``prism corpus``: build the pretraining datalist from a folder of NIfTI (+ BIDS sidecars) and DICOM.

Every file under the root is looked at once. NIfTI volumes get their metadata from the BIDS JSON sidecar
next to them (times in seconds there, ms in the datalist); DICOM files are grouped into series by
SeriesInstanceUID and each series is converted to NIfTI (see :mod:`prism.data.dicom`). A file that cannot
become a usable 3-D volume is skipped with its reason; one bad file never stops the scan.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from pydicom.errors import InvalidDicomError

from prism.data.datalist import make_record, split_by_subject, write_datalist
from prism.data.dicom import DicomFile, DicomSkip, group_series, read_dicom_header, series_to_nifti
from prism.data.sequence import infer_sequence

__all__ = ["CorpusResult", "build_corpus", "corpus_command", "read_nifti_record", "normalise_region"]

_NIFTI = (".nii", ".nii.gz")
# Files that are never images: metadata, tables, text.
_NOT_IMAGES = (".json", ".tsv", ".csv", ".txt", ".md", ".bval", ".bvec", ".py", ".yaml", ".yml", ".log")
# BIDS suffixes of derived label maps, listed as ignored rather than skipped.
_LABEL_SUFFIXES = {"dseg", "mask", "probseg", "seg", "label", "labels"}


@dataclass
class CorpusResult:
    """What a scan found: records (datalist entries), skipped files with reasons, ignored label maps."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def normalise_region(name: str | None) -> str | None:
    """Map a body-part text to ``prism.vocabulary.BODY_REGIONS`` ("other" when not recognised)."""
    from prism.vocabulary import BODY_REGIONS, REGION_ALIASES

    if name is None or not str(name).strip():
        return None
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    key = REGION_ALIASES.get(key, key)
    return key if key in BODY_REGIONS else "other"


def _entities(path: Path) -> tuple[dict[str, str], str]:
    """BIDS key-value entities and suffix of a file name."""
    stem = path.name[: -len(".nii.gz")] if path.name.endswith(".nii.gz") else path.stem
    parts = stem.split("_")
    entities = dict(p.split("-", 1) for p in parts[:-1] if "-" in p)
    suffix = parts[-1] if len(parts) > 1 or "-" not in parts[-1] else ""
    return entities, suffix


def _dataset_name(path: Path, root: Path) -> str:
    """Nearest folder with a dataset_description.json, else the first folder under root, else root's name."""
    for parent in path.parents:
        if (parent / "dataset_description.json").is_file():
            return parent.name
        if parent == root:
            break
    relative = path.relative_to(root).parts
    if len(relative) > 2 or (len(relative) == 2 and not relative[0].startswith("sub-")):
        return relative[0]
    return root.name


def _ms(seconds: Any) -> float | None:
    if seconds is None:
        return None
    value = float(seconds[0] if isinstance(seconds, list) else seconds)
    return round(value * 1000.0, 6)


def _check_volume(path: Path) -> None:
    """Raise ValueError with the reason when a NIfTI is not one usable 3-D volume (reads the whole file)."""
    try:
        image = nib.load(str(path))
        data = np.asanyarray(image.dataobj)
    except Exception as error:
        raise ValueError(f"unreadable or corrupt NIfTI ({type(error).__name__}: {error})") from error
    shape = data.shape
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) == 4:
        raise ValueError(f"4-D with {shape[3]} volumes (split it into 3-D volumes first)")
    if len(shape) != 3 or min(shape) < 2:
        raise ValueError(f"not 3-D (shape {data.shape})")
    if np.issubdtype(data.dtype, np.floating):
        nans = int(np.isnan(data).sum())
        if nans:
            raise ValueError(f"{nans} NaN voxels")
        if not np.isfinite(data).all():
            raise ValueError("infinite voxels")
    if not np.any(data):
        raise ValueError("empty volume (all voxels are zero)")


def read_nifti_record(path: Path, root: Path) -> dict[str, Any]:
    """Datalist record of one NIfTI volume, with metadata from its BIDS sidecar when there is one.

    Raises:
        ValueError: with the reason when the file is not a usable volume or its sidecar is unreadable.
    """
    _check_volume(path)
    entities, suffix = _entities(path)
    sidecar_path = Path(re.sub(r"\.nii(\.gz)?$", ".json", str(path)))
    sidecar: dict[str, Any] = {}
    if sidecar_path.is_file():
        try:
            sidecar = json.loads(sidecar_path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"unreadable sidecar {sidecar_path.name} ({error})") from error
    tr, te, ti = (_ms(sidecar.get(k)) for k in ("RepetitionTime", "EchoTime", "InversionTime"))
    flip = sidecar.get("FlipAngle")
    description = sidecar.get("SeriesDescription") or sidecar.get("ProtocolName")
    b_value = sidecar.get("DiffusionBValue")
    contrast = bool(sidecar.get("ContrastBolusIngredient") or sidecar.get("ContrastBolusAgent"))
    sequence, _ = infer_sequence(
        suffix, description, tr=tr, te=te, ti=ti, flip_angle=flip, b_value=b_value, contrast=contrast
    )
    if "sub" in entities:
        subject = f"sub-{entities['sub']}"
    elif path.parent != root:
        subject = path.parent.name
    else:
        subject = path.name.split(".")[0]
    return make_record(
        path,
        subject,
        session=f"ses-{entities['ses']}" if "ses" in entities else None,
        sequence=sequence,
        tr=tr,
        te=te,
        ti=ti,
        flip_angle=flip,
        field_strength=sidecar.get("MagneticFieldStrength"),
        body_region=normalise_region(sidecar.get("BodyPart") or sidecar.get("BodyPartExamined")),
        dataset=_dataset_name(path, root),
    )


def _dicom_records(files: list[DicomFile], root: Path, cache: Path, result: CorpusResult) -> None:
    for uid, series in group_series(files).items():
        name = series[0].path
        try:
            digest = hashlib.sha1(uid.encode()).hexdigest()[:12]
            dataset = _dataset_name(name, root)
            patient = series[0].dataset.get("PatientID") or name.parent.name
            out = cache / f"{dataset}_{patient}_{digest}.nii.gz".replace("/", "_").replace(" ", "_")
            out, meta = series_to_nifti(series, out)
            sequence, _ = infer_sequence(
                None,
                meta["description"],
                tr=meta["tr"],
                te=meta["te"],
                ti=meta["ti"],
                flip_angle=meta["flip_angle"],
                b_value=meta["b_value"],
                contrast=meta["contrast"],
            )
            record = make_record(
                out,
                str(patient),
                session=meta["study"],
                sequence=sequence,
                tr=meta["tr"],
                te=meta["te"],
                ti=meta["ti"],
                flip_angle=meta["flip_angle"],
                field_strength=meta["field_strength"],
                body_region=normalise_region(meta["body_part"]),
                dataset=dataset,
            )
            result.records.append(record)
        except (DicomSkip, ValueError) as error:
            where = str(name.parent if len(series) > 1 else name)
            label = f"{where} (DICOM series {uid}, {len(series)} files)" if len(series) > 1 else where
            result.skipped.append((label, str(error)))


def build_corpus(root: str | Path, nifti_cache: str | Path) -> CorpusResult:
    """Scan ``root`` and return the datalist records and what was skipped.

    Args:
        root: folder with NIfTI/BIDS datasets and/or DICOM files, searched recursively.
        nifti_cache: folder where converted DICOM series are written as NIfTI.
    """
    base = Path(root).resolve()
    if not base.is_dir():
        raise ValueError(f"corpus root {root} is not a folder.")
    cache = Path(nifti_cache).resolve()
    result = CorpusResult()
    dicoms: list[DicomFile] = []
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        if cache in path.parents:
            continue
        name = path.name.lower()
        if name.endswith(_NOT_IMAGES) or name.startswith("."):
            continue
        if name.endswith(_NIFTI):
            if _entities(path)[1].lower() in _LABEL_SUFFIXES:
                result.ignored.append(str(path))
                continue
            try:
                result.records.append(read_nifti_record(path, base))
            except ValueError as error:
                result.skipped.append((str(path), str(error)))
            continue
        try:
            dicoms.append(read_dicom_header(path, force=name.endswith((".dcm", ".ima"))))
        except InvalidDicomError:
            result.skipped.append((str(path), "not a NIfTI or DICOM file"))
        except DicomSkip as error:
            result.skipped.append((str(path), str(error)))
    _dicom_records(dicoms, base, cache, result)
    return result


def _summary(result: CorpusResult, split: dict[str, list[dict[str, Any]]]) -> str:
    lines = [f"found {len(result.records)} volumes"]
    for key in ("dataset", "sequence", "field_strength", "body_region"):
        counts = Counter(str(r[key]) for r in result.records)
        lines.append(f"  by {key}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for name in ("tr", "te", "flip_angle"):
        missing = sum(r[name] is None for r in result.records)
        lines.append(f"  {name} unknown for {missing} volumes")
    subjects = {n: len({(r["dataset"], r["subject"]) for r in recs}) for n, recs in split.items()}
    lines.append(
        "split: "
        + ", ".join(f"{n} {len(recs)} volumes / {subjects[n]} subjects" for n, recs in split.items())
    )
    if result.ignored:
        lines.append(f"ignored {len(result.ignored)} label maps (dseg/mask/probseg)")
    lines.append(f"skipped {len(result.skipped)} files")
    lines += [f"  SKIPPED {path}: {reason}" for path, reason in result.skipped]
    return "\n".join(lines)


def corpus_command(
    root: str,
    out: str = "datalist.json",
    val_fraction: float = 0.1,
    seed: int = 0,
    nifti_cache: str | None = None,
) -> None:
    """Build a pretraining datalist from a folder (``prism corpus ROOT --out datalist.json``).

    Args:
        root: folder to scan recursively for NIfTI (with BIDS JSON sidecars) and DICOM files.
        out: datalist JSON to write (decathlon style, split by subject).
        val_fraction: fraction of subjects in the validation split.
        seed: seed of the subject split.
        nifti_cache: folder for DICOM series converted to NIfTI (default: ``nifti_cache`` next to ``out``).
    """
    cache = Path(nifti_cache) if nifti_cache is not None else Path(out).resolve().parent / "nifti_cache"
    result = build_corpus(root, cache)
    split = split_by_subject(result.records, val_fraction=val_fraction, seed=seed)
    write_datalist(split, out)
    print(_summary(result, split))
    print(f"wrote {out}")
