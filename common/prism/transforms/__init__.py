"""MONAI dictionary transforms for PRISM pretraining, usable from bundle configs as
``_target_: prism.transforms.<Name>``; the input checks they start with are ``prism.bundle.CheckVolumed``.

A typical chain (see :func:`pretraining_transforms`): LoadImaged -> EnsureChannelFirstd -> CheckVolumed ->
Orientationd (RAS) -> Spacingd (1 mm) -> NormalizeIntensityMRId -> RandCropPadd (96^3) -> RandReorientd ->
AcquisitionMetadatad -> RandBlockMaskd (30%).
"""

from __future__ import annotations

from prism.transforms.intensity import NormalizeIntensityMRId, foreground_mask
from prism.transforms.masking import RandBlockMaskd
from prism.transforms.metadata import AcquisitionMetadatad
from prism.transforms.pipelines import cached_pretraining_transforms, preprocessing_transforms, pretraining_transforms
from prism.transforms.spatial import RandCropPadd, RandReorientd

__all__ = [
    "AcquisitionMetadatad",
    "NormalizeIntensityMRId",
    "RandBlockMaskd",
    "RandCropPadd",
    "RandReorientd",
    "cached_pretraining_transforms",
    "foreground_mask",
    "preprocessing_transforms",
    "pretraining_transforms",
]
