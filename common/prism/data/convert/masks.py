"""Merging one-binary-mask-per-structure releases (TotalSegmentator MRI, HaN-Seg) into one label map."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from prism.data.convert.core import Conversion
from prism.data.convert.volumes import grid_difference, read_volume, resample_to

__all__ = ["merge_masks"]


def merge_masks(
    run: Conversion,
    case: str,
    masks: Mapping[str, Path],
    shape: tuple[int, ...],
    affine: np.ndarray,
    resample: bool = False,
) -> str:
    """Merge binary masks (class name -> file) into one label map with the registry's values; return its path.

    Classes are painted in the registry's order: where two masks overlap the later class wins, and the report
    notes how many voxels that concerned. A class without a mask stays empty.

    Args:
        run: the conversion (task classes, writing).
        case: case id (output name).
        masks: class name -> mask file; every name must be a class of the task.
        shape, affine: the grid of the label map (the image's).
        resample: put masks on that grid by world position (nearest voxel); else a mask on another grid
            skips the case.
    """
    merged = np.zeros(tuple(shape[:3]), dtype=np.int16)
    overlap = 0
    for label in run.task.labels:
        if label.name not in masks:
            continue
        mask = read_volume(masks[label.name])
        array = np.asarray(mask.array)
        if array.ndim == 4 and array.shape[3] == 1:
            array = array[..., 0]
        difference = grid_difference(tuple(shape), affine, array.shape, mask.affine)
        if resample and not difference.agrees(1e-3):
            array = resample_to(type(mask)(array, mask.affine), tuple(shape), affine, order=0)
        elif not difference.agrees(1e-3):
            raise ValueError(f"mask {label.name}: grid differs from the image's ({difference.describe()})")
        inside = array > 0
        overlap += int(np.count_nonzero(inside & (merged > 0)))
        merged[inside] = label.value
    if overlap:
        run.note(f"{case}: {overlap} voxel(s) lie in two masks (the later class in the registry's order kept).")
    return run.write(case, "label", merged, affine, label=True)
