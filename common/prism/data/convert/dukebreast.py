"""Duke Breast Cancer MRI with the 3D breast, FGT and vessel annotations of Lew et al. (task 6).

Release: the TCIA collection Duke-Breast-Cancer-MRI (DICOM, "Descriptive Directory Name") and its supplement
``Duke-Breast-Cancer-MRI-Supplement-v3`` (Segmentation_Masks_NRRD), side by side::

    Duke-Breast-Cancer-MRI/Breast_MRI_001/<study>/<3.000000-ax dyn pre-93877>/1-001.dcm ...
    Segmentation_Masks_NRRD/Breast_MRI_001/Segmentation_Breast_MRI_001_Breast.seg.nrrd
    Segmentation_Masks_NRRD/Breast_MRI_001/Segmentation_Breast_MRI_001_Dense_and_Vessels.seg.nrrd
    Breast-Cancer-MRI-filepath_filename-mapping.xlsx   (optional: names each subject's pre-contrast series)

The annotated series is the pre-contrast fat-saturated T1 (``pre`` in the mapping table's original path, else
the one series folder whose name has ``pre``). The two Slicer segmentations are merged into one label map
(breast 1, FGT 2, vessels 3: the project's layout, in the registry) on the image grid by world position;
which value means dense tissue and which vessels is read from each file's ``SegmentN_Name`` header fields
(their order varies between files, as the dataset authors' own code notes).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.tables import read_table
from prism.data.convert.volumes import Volume, grid_difference, read_grid, read_volume, resample_to

__all__ = ["SPECS", "nrrd_segments"]

_SEGMENT = re.compile(r"^Segment(\d+)_(Name|LabelValue|Layer):=(.*)$")
_PRE = re.compile(r"\bpre\b", re.IGNORECASE)


def nrrd_segments(path: Path) -> dict[str, tuple[int, int]]:
    """Segment name (lower case) -> (layer, label value) from a ``.seg.nrrd`` header (Slicer's key:=value lines)."""
    fields: dict[int, dict[str, str]] = {}
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("latin-1").rstrip("\r\n")
            if not line:
                break
            match = _SEGMENT.match(line)
            if match:
                fields.setdefault(int(match.group(1)), {})[match.group(2)] = match.group(3).strip()
    return {
        f["Name"].lower(): (int(f.get("Layer", 0)), int(f.get("LabelValue", i + 1)))
        for i, f in sorted(fields.items())
        if "Name" in f
    }


def _pre_series(run: Conversion) -> dict[str, str]:
    """Subject -> pre-contrast series folder name, from the mapping spreadsheet when there is one."""
    tables = run.glob("*filepath_filename-mapping*.xlsx") + run.glob("*filepath_filename-mapping*.csv")
    if not tables:
        return {}
    table = read_table(tables[0])
    original, descriptive = table.column("original_path_and_filename"), table.column("descriptive_path")
    chosen = {}
    for row in table.rows:
        parts = row[original].replace("\\", "/").split("/")
        if len(parts) > 2 and parts[2].lower() == "pre":
            folders = [p for p in row[descriptive].replace("\\", "/").split("/") if p]
            chosen.setdefault(parts[1], folders[-2])
    return chosen


def _on_grid(volume: Volume, shape, affine) -> np.ndarray:
    array = volume.array
    if grid_difference(tuple(shape), affine, array.shape[:3], volume.affine).agrees(1e-3):
        return array
    return (
        np.stack(
            [resample_to(Volume(array[..., c], volume.affine), shape, affine) for c in range(array.shape[3])], axis=-1
        )
        if array.ndim == 4
        else resample_to(volume, shape, affine)
    )


def _merge(run: Conversion, breast: Path, dense_vessels: Path, shape, affine) -> np.ndarray:
    value = {c.name: c.value for c in run.task.labels}
    out = np.zeros(tuple(shape[:3]), dtype=np.int16)
    out[_on_grid(read_volume(breast), shape, affine).reshape(tuple(shape[:3]) + (-1,)).max(axis=-1) > 0] = value[
        "breast"
    ]
    layers = _on_grid(read_volume(dense_vessels), shape, affine).reshape(tuple(shape[:3]) + (-1,))
    segments = nrrd_segments(dense_vessels)
    for name, target in (("dense", "fibroglandular_tissue"), ("vessels", "vessels")):
        found = [v for k, v in segments.items() if k.startswith(name[:5])]
        if not found:
            raise CaseSkip(f"{dense_vessels.name}: no {name!r} segment in its header ({sorted(segments)})")
        layer, label_value = found[0]
        out[layers[..., layer] == label_value] = value[target]
    return out


def _pre_contrast(run: Conversion, subject: str, folder_name: str | None, key: str) -> str:
    """The subject's pre-contrast series as NIfTI: the mapping table's folder, else the folder named ``pre``
    ("Descriptive Directory Name" downloads), else the series described ``pre`` among all the subject's files
    grouped by series ("Classic Directory Name" downloads name folders by UID)."""
    root = next((p for p in run.source.glob(f"**/Duke-Breast-Cancer-MRI/{subject}") if p.is_dir()), None)
    if root is None:
        raise CaseSkip(f"no Duke-Breast-Cancer-MRI/{subject} folder")
    folders = [p for p in root.glob("*/*") if p.is_dir()]
    if folder_name is not None:
        folders = [p for p in folders if p.name == folder_name]
    else:
        folders = [p for p in folders if _PRE.search(p.name)]
    if len(folders) == 1:
        return run.dicom_series(run.glob("*.dcm", folders[0]), subject, key)
    if folders:
        raise CaseSkip(f"{len(folders)} pre-contrast series folders ({[p.name for p in folders][:3]})")
    return run.dicom_series(run.glob("**/*.dcm", root), subject, key, description=_PRE.pattern)


def _discover(run: Conversion) -> None:
    chosen = _pre_series(run)
    for mask_dir in sorted({p.parent for p in run.glob("**/Segmentation_Masks_NRRD/Breast_MRI_*/*.seg.nrrd")}):
        subject = mask_dir.name
        with run.attempt(subject):
            key = run.task.input_keys[0]
            image = _pre_contrast(run, subject, chosen.get(subject), key)
            shape, affine = read_grid(run.resolve(image))
            breast = run.require(mask_dir / f"Segmentation_{subject}_Breast.seg.nrrd")
            dense = run.require(mask_dir / f"Segmentation_{subject}_Dense_and_Vessels.seg.nrrd")
            label = run.write(subject, "label", _merge(run, breast, dense, shape, affine), affine, label=True)
            run.add(Case(subject, subject=subject, images={key: image}, label=label))


SPECS = (
    DatasetSpec(
        name="dukebreast",
        title="Duke Breast Cancer MRI (breast/FGT/vessels)",
        tasks=("dukebreast_breast_seg",),
        download="https://www.cancerimagingarchive.net/collection/duke-breast-cancer-mri/",
        release="TCIA Duke-Breast-Cancer-MRI (DICOM) + Duke-Breast-Cancer-MRI-Supplement-v3 (Segmentation_Masks_NRRD)",
        licence="CC BY-NC 4.0 (TCIA)",
        citation="Saha et al., A machine learning approach to radiogenomics of breast cancer, British Journal of "
        "Cancer 119:508-516 (2018); Lew et al., A publicly available deep learning model and dataset for "
        "segmentation of breast, fibroglandular tissue, and vessels in breast MRI, Scientific Reports 14:5383 (2024)",
        layout="Duke-Breast-Cancer-MRI/Breast_MRI_001/<study>/<... pre ...>/*.dcm\n"
        "Segmentation_Masks_NRRD/Breast_MRI_001/Segmentation_Breast_MRI_001_{Breast,Dense_and_Vessels}.seg.nrrd",
        discover=_discover,
    ),
)
