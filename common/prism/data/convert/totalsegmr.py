"""TotalSegmentator MRI (task 20): whole-body anatomy on MR of any sequence.

Release: the TotalSegmentator MRI dataset on Zenodo (record 14710732, v2; v1 was 11367005), unpacked::

    s0001/mri.nii.gz
    s0001/segmentations/liver.nii.gz, spleen.nii.gz, ...   one binary mask per structure
    meta.csv                                               ";"-separated: image_id, ..., split (train/val/test)

The per-structure masks are merged into one label map with the registry's value of each class (structures
the registry does not name are left out and listed; a class without a file is empty; where two masks
overlap, the later class in the registry's order wins and the voxel count is noted). ``meta.csv``'s split is
the official one.
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.layout import stem
from prism.data.convert.masks import merge_masks
from prism.data.convert.tables import read_table
from prism.data.convert.volumes import read_grid

__all__ = ["SPECS"]

_SPLIT = {"train": None, "training": None, "val": "validation", "validation": "validation", "test": "test"}


def _splits(run: Conversion) -> dict[str, str | None]:
    metas = run.glob("meta.csv") or run.glob("*/meta.csv")
    if not metas:
        run.note("no meta.csv: validation subjects drawn by seed.")
        return {}
    table = read_table(metas[0])
    ids = table.values("image_id", "subject", "id")
    splits = table.values("split")
    return {i.strip(): _SPLIT.get(s.strip().lower()) for i, s in zip(ids, splits)}


def _discover(run: Conversion) -> None:
    splits = _splits(run)
    known = set(run.task.class_names)
    for image in run.glob("**/mri.nii.gz"):
        case = image.parent.name
        with run.attempt(case):
            masks = {stem(p): p for p in run.glob("segmentations/*.nii.gz", image.parent)}
            extra = sorted(set(masks) - known)
            if extra:
                run.note(f"structures not in the registry, left out: {extra}")
            shape, affine = read_grid(image)
            label = merge_masks(run, case, {k: v for k, v in masks.items() if k in known}, shape, affine)
            run.add(
                Case(
                    case,
                    subject=case,
                    images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                    label=label,
                    split=splits.get(case),
                )
            )


SPECS = (
    DatasetSpec(
        name="totalsegmr",
        title="TotalSegmentator MRI",
        tasks=("totalsegmr_body_seg",),
        download="https://zenodo.org/records/14710732",
        release="TotalSegmentator MRI dataset v2 (Zenodo 14710732)",
        licence="CC BY 4.0 (verify on the record)",
        citation="D'Antonoli et al., TotalSegmentator MRI: robust sequence-independent segmentation of multiple "
        "anatomic structures in MRI, Radiology 314(2):e241613 (2025), arXiv:2405.19492",
        layout="s0001/mri.nii.gz\ns0001/segmentations/<structure>.nii.gz\nmeta.csv (split column)",
        discover=_discover,
    ),
)
