"""MRI intensity normalisation: robust percentiles or z-score over the head (no CT windows).

MR intensities have no physical unit: the same tissue gets different numbers across scanners, coils and
series, and a bias field scales them smoothly. Statistics are therefore taken over the foreground only (the
air around the head is noise) and with percentiles, so bright outliers (vessels, fat) do not set the scale.
"""

from __future__ import annotations

from typing import Hashable, Mapping

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform
from monai.utils import look_up_option

from prism.bundle.checks import source_name

__all__ = ["NormalizeIntensityMRId", "foreground_mask"]


def foreground_mask(image: torch.Tensor, fraction: float = 0.05) -> torch.Tensor:
    """Voxels above ``fraction`` of the 99th percentile: the head, without the air around it.

    Args:
        image: tensor of any shape.
        fraction: threshold as a fraction of the 99th percentile.

    Returns:
        bool tensor of the same shape.
    """
    flat = image.reshape(-1).float()
    if flat.numel() > 1_000_000:  # percentile of a strided subsample: same threshold, less time
        flat = flat[:: flat.numel() // 1_000_000 + 1]
    high = torch.quantile(flat, 0.99)
    return image > fraction * high


class NormalizeIntensityMRId(MapTransform):
    """Normalise MR intensities per volume using foreground statistics.

    ``mode="percentile"`` maps the ``lower`` and ``upper`` percentiles of the foreground to 0 and 1 (clipped
    to ``clip`` when given); ``mode="zscore"`` subtracts the foreground mean and divides by its standard
    deviation. Background voxels go through the same map.

    Args:
        keys: keys of the images (any shape, typically (C, X, Y, Z)).
        mode: ``"percentile"`` or ``"zscore"``.
        lower, upper: percentiles (0-100) for ``percentile`` mode.
        clip: (min, max) to clip to after normalising, or None.
        foreground_fraction: foreground threshold as a fraction of the 99th percentile.
        allow_missing_keys: do not fail when a key is absent.

    Raises:
        ValueError: for bad arguments, or (naming the file) an image without foreground or a constant one.
    """

    def __init__(
        self,
        keys: KeysCollection,
        mode: str = "percentile",
        lower: float = 0.5,
        upper: float = 99.5,
        clip: tuple[float, float] | None = (0.0, 1.0),
        foreground_fraction: float = 0.05,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.mode = look_up_option(mode, ("percentile", "zscore"))
        if not 0.0 <= lower < upper <= 100.0:
            raise ValueError(f"NormalizeIntensityMRId: need 0 <= lower < upper <= 100, got {lower}, {upper}.")
        if clip is not None and clip[0] >= clip[1]:
            raise ValueError(f"NormalizeIntensityMRId: clip must be (min, max) with min < max, got {clip}.")
        self.lower, self.upper = lower, upper
        self.clip = clip
        self.foreground_fraction = foreground_fraction

    def normalise(self, image: torch.Tensor, name: str = "<image>") -> torch.Tensor:
        """Normalise one image tensor (float32 result, same shape)."""
        image = image.float()
        values = image[foreground_mask(image, self.foreground_fraction)]
        if values.numel() < 2:
            raise ValueError(f"{name}: no foreground voxels to normalise (empty or constant image).")
        if values.numel() > 1_000_000:
            values = values[:: values.numel() // 1_000_000 + 1]
        if self.mode == "percentile":
            q = torch.quantile(values, torch.tensor([self.lower / 100.0, self.upper / 100.0]))
            offset, scale = q[0], q[1] - q[0]
        else:
            offset, scale = values.mean(), values.std()
        if not float(scale) > 0:
            raise ValueError(f"{name}: constant foreground intensity, cannot normalise.")
        out = (image - offset) / scale
        if self.clip is not None:
            out = out.clamp(self.clip[0], self.clip[1])
        return out

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        for key in self.key_iterator(d):
            value = d[key]
            tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
            d[key] = self.normalise(tensor, source_name(d, key))  # a MetaTensor keeps its metadata
        return d
