"""Block masking for masked image reconstruction (PRISM section 4.2).

The volume is divided into a grid of cubes and a fixed share of them is hidden; the network must
reconstruct the hidden blocks from the visible context. Whole blocks (not single voxels) are hidden so
that the task cannot be solved by local interpolation.
"""

from __future__ import annotations

from typing import Hashable, Mapping, Sequence

import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, Randomizable
from monai.utils import ensure_tuple_rep

__all__ = ["RandBlockMaskd"]


class RandBlockMaskd(Randomizable, MapTransform):
    """Hide ``mask_ratio`` of the volume in cubic blocks; keep the original as the reconstruction target.

    For each key the output has: ``key`` the masked image (hidden voxels set to ``fill_value``),
    ``target_key`` the unmasked image, ``mask_key`` a float mask of the same shape as the image with 1 in
    hidden voxels. The block grid covers the volume (edge blocks are clipped), and
    ``round(mask_ratio * n_blocks)`` blocks are drawn without replacement, so the hidden fraction equals
    ``mask_ratio`` exactly when the size is a multiple of the block size.

    Args:
        keys: image key (one key; channel-first (C, X, Y, Z)).
        mask_ratio: share of blocks to hide, in (0, 1).
        block_size: block edge in voxels (one int or three).
        fill_value: value of hidden voxels.
        target_key: where the unmasked image goes.
        mask_key: where the mask goes.
    """

    def __init__(
        self,
        keys: KeysCollection = "image",
        mask_ratio: float = 0.3,
        block_size: int | Sequence[int] = 16,
        fill_value: float = 0.0,
        target_key: str = "target",
        mask_key: str = "mask",
    ) -> None:
        MapTransform.__init__(self, keys)
        if len(self.keys) != 1:
            raise ValueError(f"RandBlockMaskd: give one image key, got {self.keys}.")
        if not 0.0 < mask_ratio < 1.0:
            raise ValueError(f"RandBlockMaskd: mask_ratio must be in (0, 1), got {mask_ratio}.")
        self.mask_ratio = mask_ratio
        self.block_size = tuple(int(b) for b in ensure_tuple_rep(block_size, 3))
        if min(self.block_size) < 1:
            raise ValueError(f"RandBlockMaskd: block_size must be positive, got {block_size}.")
        self.fill_value = fill_value
        self.target_key, self.mask_key = target_key, mask_key
        self._chosen: torch.Tensor | None = None

    def randomize(self, n_blocks: int) -> None:
        """Draw which blocks are hidden."""
        count = int(round(self.mask_ratio * n_blocks))
        self._chosen = torch.as_tensor(self.R.choice(n_blocks, size=count, replace=False), dtype=torch.long)

    def block_mask(self, spatial_shape: Sequence[int]) -> torch.Tensor:
        """Draw a mask of ``spatial_shape`` (float, 1 = hidden)."""
        grid = [-(-s // b) for s, b in zip(spatial_shape, self.block_size)]
        n_blocks = grid[0] * grid[1] * grid[2]
        self.randomize(n_blocks)
        coarse = torch.zeros(n_blocks)
        coarse[self._chosen] = 1.0
        coarse = coarse.reshape(grid)
        for axis, b in enumerate(self.block_size):
            coarse = coarse.repeat_interleave(b, dim=axis)
        return coarse[: spatial_shape[0], : spatial_shape[1], : spatial_shape[2]].contiguous()

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        key = self.keys[0]
        image = d[key]
        if not isinstance(image, torch.Tensor) or image.ndim != 4:
            raise ValueError(
                f"RandBlockMaskd: {key!r} must be a channel-first tensor (C, X, Y, Z), "
                f"got {type(image).__name__} of shape {getattr(image, 'shape', None)}."
            )
        mask = self.block_mask(image.shape[1:]).to(image.device)[None].expand_as(image)
        d[self.target_key] = image
        d[key] = torch.where(mask > 0, torch.as_tensor(self.fill_value, dtype=image.dtype), image)
        d[self.mask_key] = mask.to(image.dtype).contiguous()
        return d
