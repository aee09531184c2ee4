"""Writers for tiny files in the formats public datasets ship: NIfTI, MetaImage, NRRD (with Slicer segment
headers), DICOM series, PNG slices, spreadsheets (CSV with any delimiter, .xlsx), HDF5 and .npy.

Used by the ``prism convert`` and ``prism check-dataset`` tests to build each dataset's official layout.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import nibabel as nib
import numpy as np

__all__ = [
    "APPLEDOUBLE",
    "affine",
    "blob_label",
    "image",
    "write_csv",
    "write_dicom_series",
    "write_mha",
    "write_nifti",
    "write_png",
    "write_seg_nrrd",
    "write_xlsx",
]

# The bytes an AppleDouble companion (._name) starts with: magic 0x00051607, version 2.
APPLEDOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "


def affine(spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    out = np.diag([*map(float, spacing), 1.0])
    out[:3, 3] = origin
    return out


def image(shape=(8, 8, 4), seed: int = 0) -> np.ndarray:
    """A non-constant float32 volume that differs per seed."""
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 100 + 10).astype(np.float32)


def blob_label(shape=(8, 8, 4), values=(1,), seed: int = 0) -> np.ndarray:
    """A label map with each of ``values`` in a few voxels (positions differ per seed)."""
    rng = np.random.default_rng(seed + 1000)
    out = np.zeros(shape, dtype=np.int16)
    flat = rng.choice(int(np.prod(shape)), size=3 * len(values), replace=False)
    for i, value in enumerate(values):
        out.flat[flat[3 * i : 3 * i + 3]] = value
    return out


def write_nifti(path: Path, array: np.ndarray, aff: np.ndarray | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(array), affine() if aff is None else aff), str(path))
    return path


def write_mha(path: Path, array: np.ndarray, spacing=(1.0, 1.0, 1.0), origin=(0.0, 0.0, 0.0)) -> Path:
    """MetaImage (.mha, or .mhd + .raw) written by ITK; ``array`` indexed (x, y, z)."""
    import itk

    path.parent.mkdir(parents=True, exist_ok=True)
    img = itk.image_from_array(np.ascontiguousarray(np.asarray(array).transpose(2, 1, 0)))
    img.SetSpacing([float(s) for s in spacing])
    img.SetOrigin([float(o) for o in origin])
    itk.imwrite(img, str(path))
    return path


_NRRD_TYPES = {np.dtype(np.uint8): "unsigned char", np.dtype(np.int16): "short", np.dtype(np.float32): "float"}


def write_seg_nrrd(
    path: Path,
    array: np.ndarray,
    segments: list[tuple[str, int, int]] = (),
    spacing=(1.0, 1.0, 1.0),
    origin_lps=(0.0, 0.0, 0.0),
) -> Path:
    """A raw NRRD (3-D, or 4-D with the layer axis first as Slicer writes layered segmentations) with
    ``SegmentN_Name/Layer/LabelValue`` key:=value fields. ``array``: (x, y, z) or (layers, x, y, z), of
    uint8, int16 or float32."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.asarray(array)
    if data.dtype not in _NRRD_TYPES:
        data = data.astype(np.uint8)
    layered = data.ndim == 4
    directions = " ".join(f"({','.join(str(s if i == j else 0.0) for j in range(3))})" for i, s in enumerate(spacing))
    lines = [
        "NRRD0004",
        f"type: {_NRRD_TYPES[data.dtype]}",
        f"dimension: {data.ndim}",
        "space: left-posterior-superior",
        f"sizes: {' '.join(str(s) for s in data.shape)}",
        f"space directions: {'none ' if layered else ''}{directions}",
        f"kinds: {'list ' if layered else ''}domain domain domain",
        "encoding: raw",
        "endian: little",
        f"space origin: ({','.join(str(float(o)) for o in origin_lps)})",
    ]
    for i, (name, layer, value) in enumerate(segments):
        lines += [f"Segment{i}_Name:={name}", f"Segment{i}_Layer:={layer}", f"Segment{i}_LabelValue:={value}"]
    # NRRD is fastest-axis first: x varies fastest (Fortran order of the (x, y, z) array; layers fastest of all)
    payload = np.asfortranarray(data).astype(data.dtype.newbyteorder("<")).tobytes(order="F")
    path.write_bytes(("\n".join(lines) + "\n\n").encode("latin-1") + payload)
    return path


def write_dicom_series(
    folder: Path,
    volume: np.ndarray,
    spacing=(1.0, 1.0, 2.0),
    patient: str = "p1",
    description: str = "series",
    names: list[str] | None = None,
    suffix: str = ".dcm",
) -> list[Path]:
    """An axial MR series of ``volume`` (x = columns, y = rows, z = slices), written shuffled, from pydicom's
    MR_small.dcm template. Returns the file paths in slice order."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    template = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = generate_uid()
    columns, rows, slices = volume.shape
    paths = [folder / (names[k] if names else f"IMG-{k + 1:05d}{suffix}") for k in range(slices)]
    for k in np.random.default_rng(slices).permutation(slices):
        ds = copy.deepcopy(template)
        pixels = np.ascontiguousarray(np.asarray(volume[:, :, k]).T.astype(np.int16))  # (rows, columns)
        ds.Rows, ds.Columns = rows, columns
        ds.PixelData = pixels.tobytes()
        ds.PixelSpacing = [f"{spacing[1]:.4f}", f"{spacing[0]:.4f}"]
        ds.SliceThickness = f"{spacing[2]:.4f}"
        ds.ImagePositionPatient = ["0.0", "0.0", f"{k * spacing[2]:.4f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = int(k) + 1
        ds.PatientID = patient
        ds.SeriesDescription = description
        ds.save_as(paths[k])
    return paths


def write_png(path: Path, array: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode="L").save(path)
    return path


def write_csv(path: Path, rows: list[list[object]], delimiter: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        csv.writer(f, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]], sheet: str = "Sheet1") -> Path:
    import openpyxl

    path.parent.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    book.active.title = sheet
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path
