"""Ready-made pretraining chains: the direct path from NIfTI and the path from the array cache.

Both share :func:`preprocessing_transforms` (deterministic: load, check, RAS, 1 mm, normalise), so a crop
from the cache equals the crop from the NIfTI at the same random state.
"""

from __future__ import annotations

from typing import Sequence

from monai.transforms import Compose, EnsureChannelFirstd, LoadImaged, Orientationd, Spacingd

from prism.transforms.intensity import NormalizeIntensityMRId
from prism.transforms.masking import RandBlockMaskd
from prism.transforms.metadata import AcquisitionMetadatad
from prism.transforms.spatial import RandCropPadd, RandReorientd
from prism.bundle.checks import CheckVolumed

__all__ = ["preprocessing_transforms", "pretraining_transforms", "cached_pretraining_transforms"]


def preprocessing_transforms(
    key: str = "image", pixdim: float | Sequence[float] = 1.0, normalise: bool = True
) -> Compose:
    """Deterministic part: load, validate, reorient to RAS, resample to ``pixdim`` mm, normalise.

    Args:
        key: image key holding a NIfTI path.
        pixdim: target voxel size in mm (1 mm isotropic by default).
        normalise: apply percentile normalisation (:class:`NormalizeIntensityMRId`).
    """
    transforms = [
        LoadImaged(keys=key, image_only=True),
        EnsureChannelFirstd(keys=key),
        CheckVolumed(keys=key, channels=1),
        Orientationd(keys=key, axcodes="RAS", labels=(("L", "R"), ("P", "A"), ("I", "S"))),
        Spacingd(keys=key, pixdim=pixdim, mode="bilinear"),
    ]
    if normalise:
        transforms.append(NormalizeIntensityMRId(keys=key))
    return Compose(transforms)


def _random_part(key: str, roi_size: int, mask_ratio: float, block_size: int, reorient: bool) -> list:
    transforms = [RandCropPadd(keys=key, roi_size=roi_size)]
    if reorient:
        transforms.append(RandReorientd(keys=key))
    transforms += [AcquisitionMetadatad(), RandBlockMaskd(keys=key, mask_ratio=mask_ratio, block_size=block_size)]
    return transforms


def pretraining_transforms(
    key: str = "image",
    pixdim: float = 1.0,
    roi_size: int = 96,
    mask_ratio: float = 0.3,
    block_size: int = 16,
    reorient: bool = True,
) -> Compose:
    """Full pretraining chain from a datalist record with a NIfTI path.

    Output keys: ``image`` (masked, (1, roi, roi, roi)), ``target``, ``mask``, ``acquisition``,
    ``acquisition_valid``, ``region``, ``sequence_index``, plus the record's own keys.
    """
    return Compose(
        list(preprocessing_transforms(key, pixdim).transforms)
        + _random_part(key, roi_size, mask_ratio, block_size, reorient)
    )


def cached_pretraining_transforms(
    key: str = "image", roi_size: int = 96, mask_ratio: float = 0.3, block_size: int = 16, reorient: bool = True
) -> Compose:
    """Random part only, for records of :class:`prism.data.cache.CachedVolumeDataset` (already preprocessed)."""
    return Compose(_random_part(key, roi_size, mask_ratio, block_size, reorient))
