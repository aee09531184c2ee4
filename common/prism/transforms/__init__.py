"""MONAI dictionary transforms for PRISM pretraining, usable from bundle configs as
``_target_: prism.transforms.<Name>``.

A typical chain (see :func:`pretraining_transforms`): LoadImaged -> EnsureChannelFirstd -> ValidateVolumed ->
Orientationd (RAS) -> Spacingd (1 mm) -> NormalizeIntensityMRId -> RandCropPadd (96^3) -> RandReorientd ->
AcquisitionMetadatad -> RandBlockMaskd (30%).
"""

from __future__ import annotations

from prism.transforms.intensity import NormalizeIntensityMRId, foreground_mask
from prism.transforms.masking import RandBlockMaskd
from prism.transforms.metadata import AcquisitionMetadatad
from prism.transforms.pipelines import cached_pretraining_transforms, preprocessing_transforms, pretraining_transforms
from prism.transforms.spatial import RandCropPadd, RandReorientd
from prism.transforms.validation import ValidateVolumed

__all__ = [
    "AcquisitionMetadatad",
    "NormalizeIntensityMRId",
    "RandBlockMaskd",
    "RandCropPadd",
    "RandReorientd",
    "ValidateVolumed",
    "cached_pretraining_transforms",
    "foreground_mask",
    "preprocessing_transforms",
    "pretraining_transforms",
]
