"""DICOM reading for the corpus builder: acquisition metadata, series grouping, conversion to NIfTI.

Geometry: DICOM patient coordinates are LPS. For a slice, ImageOrientationPatient gives the direction of
increasing column index (row cosine) and of increasing row index (column cosine); their cross product is the
slice normal. Slices are sorted by the projection of ImagePositionPatient on the normal, the slice step is
the measured step between positions (so tilted stacks keep their shear), and the affine is flipped to RAS
for NIfTI. A stack whose positions are not evenly spaced is rejected rather than silently resampled.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import nibabel as nib
import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

__all__ = [
    "DicomSkip",
    "DicomFile",
    "read_dicom_metadata",
    "read_dicom_header",
    "group_series",
    "series_to_nifti",
    "slice_order",
]

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


class DicomSkip(Exception):
    """A DICOM file or series that cannot become a 3-D volume; the message is the reason."""


@dataclass(frozen=True)
class DicomFile:
    """One readable DICOM file: its path, header (pixel data deferred) and series UID."""

    path: Path
    dataset: pydicom.Dataset
    series_uid: str


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value[0] if isinstance(value, (list, tuple, pydicom.multival.MultiValue)) else value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def read_dicom_metadata(source: str | Path | pydicom.Dataset) -> dict[str, Any]:
    """Acquisition metadata of a DICOM file or dataset (None for absent or empty tags).

    Returns:
        dict with ``tr``, ``te``, ``ti`` (ms, as stored in DICOM), ``flip_angle`` (degrees), ``field_strength``
        (tesla; values above 20 are taken as gauss), ``description`` (SeriesDescription, else ProtocolName),
        ``body_part`` (BodyPartExamined), ``scanning_sequence``, ``b_value`` (DiffusionBValue), ``contrast``
        (ContrastBolusAgent present), ``patient_id``, ``study``, ``series_uid``, ``modality``.
    """
    ds = source if isinstance(source, pydicom.Dataset) else pydicom.dcmread(str(source), stop_before_pixels=True)
    field = _number(ds.get("MagneticFieldStrength"))
    if field is not None and field > 20:
        field = field / 10000.0
    scanning = ds.get("ScanningSequence")
    if isinstance(scanning, pydicom.multival.MultiValue):
        scanning = "\\".join(str(s) for s in scanning)
    return {
        "tr": _number(ds.get("RepetitionTime")),
        "te": _number(ds.get("EchoTime")),
        "ti": _number(ds.get("InversionTime")),
        "flip_angle": _number(ds.get("FlipAngle")),
        "field_strength": field,
        "description": _text(ds.get("SeriesDescription")) or _text(ds.get("ProtocolName")),
        "body_part": _text(ds.get("BodyPartExamined")),
        "scanning_sequence": _text(scanning),
        "b_value": _number(ds.get("DiffusionBValue")),
        "contrast": _text(ds.get("ContrastBolusAgent")) is not None,
        "patient_id": _text(ds.get("PatientID")),
        "study": _text(ds.get("StudyDate")) or _text(ds.get("StudyInstanceUID")),
        "series_uid": _text(ds.get("SeriesInstanceUID")),
        "modality": _text(ds.get("Modality")),
    }


def read_dicom_header(path: str | Path, force: bool = False) -> DicomFile:
    """Read a DICOM file's header with its pixel data deferred.

    Raises:
        InvalidDicomError: when the file is not DICOM (no preamble and ``force`` is False).
        DicomSkip: when it is DICOM but unusable (unreadable, not MR, no pixel data, no series UID).
    """
    try:
        ds = pydicom.dcmread(str(path), defer_size="256 KB", force=force)
    except InvalidDicomError:
        raise
    except Exception as error:  # pydicom raises many types on damaged files
        raise DicomSkip(f"unreadable DICOM ({type(error).__name__}: {error})") from error
    if "SOPClassUID" not in ds and "Modality" not in ds and "PixelData" not in ds:
        raise InvalidDicomError(f"{path}: no DICOM attributes")
    modality = _text(ds.get("Modality"))
    if modality is not None and modality != "MR":
        raise DicomSkip(f"modality {modality}, not MR")
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise DicomSkip("no pixel data")
    uid = _text(ds.get("SeriesInstanceUID"))
    if uid is None:
        raise DicomSkip("no SeriesInstanceUID")
    return DicomFile(path=Path(path), dataset=ds, series_uid=uid)


def group_series(files: Sequence[DicomFile]) -> dict[str, list[DicomFile]]:
    """Group files by SeriesInstanceUID (in the input order)."""
    series: dict[str, list[DicomFile]] = defaultdict(list)
    for item in files:
        series[item.series_uid].append(item)
    return dict(series)


def _orientation(ds: pydicom.Dataset) -> np.ndarray:
    iop = ds.get("ImageOrientationPatient")
    if iop is None or len(iop) != 6:
        raise DicomSkip("no ImageOrientationPatient")
    return np.asarray([float(v) for v in iop], dtype=np.float64)


def _position(ds: pydicom.Dataset) -> np.ndarray:
    ipp = ds.get("ImagePositionPatient")
    if ipp is None or len(ipp) != 3:
        raise DicomSkip("no ImagePositionPatient")
    return np.asarray([float(v) for v in ipp], dtype=np.float64)


def _pixels(item: DicomFile) -> np.ndarray:
    ds = item.dataset
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise DicomSkip(f"{item.path.name}: not a greyscale image (SamplesPerPixel={ds.SamplesPerPixel})")
    try:
        array = ds.pixel_array
    except Exception as error:
        raise DicomSkip(f"{item.path.name}: cannot decode pixel data ({type(error).__name__}: {error})") from error
    if array.ndim != 2:
        raise DicomSkip(f"{item.path.name}: pixel data of shape {array.shape}, expected one 2-D frame")
    slope = _number(ds.get("RescaleSlope"))
    intercept = _number(ds.get("RescaleIntercept"))
    array = array.astype(np.float64)
    if slope is not None:
        array = array * slope
    if intercept is not None:
        array = array + intercept
    return array


def slice_order(files: Sequence[DicomFile]) -> np.ndarray:
    """Indices that sort a series' files along the slice normal: the order :func:`series_to_nifti` stacks them in.

    Converters use it to stack per-slice label images (CHAOS PNGs, Duke Liver mask slices) like their DICOM.
    """
    orientation = _orientation(files[0].dataset)
    normal = np.cross(orientation[:3], orientation[3:])
    return np.argsort(np.stack([_position(item.dataset) for item in files]) @ normal, kind="stable")


def series_to_nifti(
    files: Sequence[DicomFile], out_path: str | Path, spacing_tolerance: float = 0.05
) -> tuple[Path, dict[str, Any]]:
    """Convert one DICOM series to a 3-D NIfTI with RAS geometry.

    Args:
        files: the files of one series (any order).
        out_path: the .nii.gz to write.
        spacing_tolerance: largest relative deviation of a slice step from the median step.

    Returns:
        (path written, metadata of the first slice as :func:`read_dicom_metadata`).

    Raises:
        DicomSkip: for a single 2-D slice, a multi-frame or mosaic file, mixed orientations or sizes,
            duplicate positions, uneven slice spacing, undecodable pixels or NaN voxels.
    """
    first = files[0].dataset
    frames = int(first.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise DicomSkip(f"multi-frame DICOM ({frames} frames) is not supported")
    image_type = [str(v).upper() for v in first.get("ImageType", [])]
    if "MOSAIC" in image_type:
        raise DicomSkip("Siemens mosaic image is not supported")
    if len(files) < 2:
        _pixels(files[0])  # a damaged file is reported as such, not as a mere 2-D image
        raise DicomSkip("2-D: a single slice")
    orientation = _orientation(first)
    size = (int(first.Rows), int(first.Columns))
    for item in files[1:]:
        if not np.allclose(_orientation(item.dataset), orientation, atol=1e-4):
            raise DicomSkip(f"{item.path.name}: orientation differs within the series")
        if (int(item.dataset.Rows), int(item.dataset.Columns)) != size:
            raise DicomSkip(f"{item.path.name}: image size differs within the series")
    row_cos, col_cos = orientation[:3], orientation[3:]
    normal = np.cross(row_cos, col_cos)
    positions = np.stack([_position(item.dataset) for item in files])
    depth = positions @ normal
    order = np.argsort(depth, kind="stable")
    steps = np.diff(depth[order])
    if np.any(np.abs(steps) < 1e-3):
        unique = len(np.unique(np.round(depth, 3)))
        raise DicomSkip(
            f"duplicate slice positions ({len(files)} slices at {unique} positions: multi-echo or dynamic series?)"
        )
    median = float(np.median(steps))
    if np.max(np.abs(steps - median)) > spacing_tolerance * median:
        raise DicomSkip(
            f"inconsistent slice spacing (steps {steps.min():.3f}-{steps.max():.3f} mm, median {median:.3f} mm)"
        )
    pixel_spacing = first.get("PixelSpacing")
    if pixel_spacing is None or len(pixel_spacing) != 2:
        raise DicomSkip("no PixelSpacing")
    row_spacing, col_spacing = float(pixel_spacing[0]), float(pixel_spacing[1])
    ordered = [files[i] for i in order]
    volume = np.stack([_pixels(item) for item in ordered], axis=-1)  # (rows, columns, slices)
    volume = np.transpose(volume, (1, 0, 2))  # (columns, rows, slices): i along the row cosine
    if np.isnan(volume).any():
        raise DicomSkip(f"{int(np.isnan(volume).sum())} NaN voxels")
    affine = np.eye(4)
    affine[:3, 0] = row_cos * col_spacing
    affine[:3, 1] = col_cos * row_spacing
    affine[:3, 2] = (positions[order[-1]] - positions[order[0]]) / (len(files) - 1)
    affine[:3, 3] = positions[order[0]]
    affine = _LPS_TO_RAS @ affine
    integral = np.all(volume == np.round(volume))
    fits = volume.min() >= np.iinfo(np.int16).min and volume.max() <= np.iinfo(np.int16).max
    data = volume.astype(np.int16) if integral and fits else volume.astype(np.float32)
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm", "sec")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(out))
    return out, read_dicom_metadata(first)
