"""Random crops with padding and random reorientation for pretraining.

:class:`RandCropPadd` slices numpy arrays before converting them, so a memory-mapped cached volume
(:mod:`prism.data.cache`) is read only inside the crop.
"""

from __future__ import annotations

from typing import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform, Randomizable
from monai.utils import ensure_tuple_rep

from prism.bundle.checks import source_name

__all__ = ["RandCropPadd", "RandReorientd"]


def _spatial_shape(value: object) -> tuple[int, ...]:
    return tuple(int(s) for s in value.shape[1:])  # type: ignore[attr-defined]


class RandCropPadd(Randomizable, MapTransform):
    """Random ``roi_size`` crop of channel-first volumes, the same window for all keys; padded when smaller.

    An axis shorter than the ROI is padded with ``pad_value`` (the volume placed at a random offset in the
    window); a longer one is cropped at a random start. Numpy inputs (including ``np.memmap``) are sliced
    first and only the crop is copied into a float32 tensor. MetaTensor affines are shifted to the window.

    Args:
        keys: keys of channel-first arrays or tensors (C, X, Y, Z).
        roi_size: crop size, one int or three.
        pad_value: value of padded voxels (0 after percentile normalisation is the air level).
        allow_missing_keys: do not fail when a key is absent.
    """

    def __init__(
        self,
        keys: KeysCollection,
        roi_size: int | Sequence[int] = 96,
        pad_value: float = 0.0,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        self.roi_size = tuple(int(s) for s in ensure_tuple_rep(roi_size, 3))
        if min(self.roi_size) < 1:
            raise ValueError(f"RandCropPadd: roi_size must be positive, got {roi_size}.")
        self.pad_value = pad_value
        self._starts: tuple[int, ...] = (0, 0, 0)

    def randomize(self, shape: Sequence[int]) -> None:
        """Draw the window start per axis: in [0, size - roi] to crop, in [size - roi, 0] to pad."""
        starts = []
        for size, roi in zip(shape, self.roi_size):
            low, high = min(0, size - roi), max(0, size - roi)
            starts.append(int(self.R.randint(low, high + 1)))
        self._starts = tuple(starts)

    def _crop(self, value: object) -> torch.Tensor:
        shape = _spatial_shape(value)
        src = tuple(slice(max(s, 0), min(s + r, n)) for s, r, n in zip(self._starts, self.roi_size, shape))
        dst = tuple(slice(max(-s, 0), max(-s, 0) + (b.stop - b.start)) for s, b in zip(self._starts, src))
        if isinstance(value, torch.Tensor):
            piece = value.as_tensor() if isinstance(value, MetaTensor) else value
            piece = piece[(slice(None), *src)]
        else:
            piece = torch.from_numpy(np.array(value[(slice(None), *src)], dtype=np.float32))
        out = torch.full((piece.shape[0], *self.roi_size), self.pad_value, dtype=piece.dtype)
        out[(slice(None), *dst)] = piece
        if isinstance(value, MetaTensor):
            affine = value.affine.clone().double()
            affine[:3, 3] = affine[:3, 3] + affine[:3, :3] @ torch.tensor(self._starts, dtype=torch.float64)
            out = MetaTensor(out, affine=affine, meta={k: v for k, v in value.meta.items() if k != "affine"})
        return out

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        keys = list(self.key_iterator(d))
        if not keys:
            return d
        shape = _spatial_shape(d[keys[0]])
        for key in keys[1:]:
            if _spatial_shape(d[key]) != shape:
                raise ValueError(
                    f"{source_name(d, key)}: spatial shape {_spatial_shape(d[key])} differs from {keys[0]}'s {shape}."
                )
        self.randomize(shape)
        for key in keys:
            d[key] = self._crop(d[key])
        return d


class RandReorientd(Randomizable, MapTransform):
    """Random permutation and flips of the three spatial axes (the same for all keys).

    PRISM pretrains on volumes acquired in axial, coronal and sagittal planes; a random axis order and
    direction imitates those acquisition planes on any volume. MetaTensor affines are updated so that
    world coordinates stay correct.

    Args:
        keys: keys of channel-first tensors (C, X, Y, Z); the spatial axes must allow the permutation
            (square crops for a batch).
        prob: probability of reorienting at all.
        permute: draw a random axis order.
        flip_prob: probability of flipping each axis.
        allow_missing_keys: do not fail when a key is absent.
    """

    def __init__(
        self,
        keys: KeysCollection,
        prob: float = 1.0,
        permute: bool = True,
        flip_prob: float = 0.5,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        if not 0.0 <= prob <= 1.0 or not 0.0 <= flip_prob <= 1.0:
            raise ValueError(f"RandReorientd: prob and flip_prob must be in [0, 1], got {prob}, {flip_prob}.")
        self.prob, self.permute, self.flip_prob = prob, permute, flip_prob
        self.order: tuple[int, int, int] = (0, 1, 2)
        self.flips: tuple[bool, bool, bool] = (False, False, False)

    def randomize(self, data: object = None) -> None:
        """Draw the axis order and flips."""
        if self.R.rand() >= self.prob:
            self.order, self.flips = (0, 1, 2), (False, False, False)
            return
        self.order = tuple(int(a) for a in self.R.permutation(3)) if self.permute else (0, 1, 2)
        self.flips = tuple(bool(self.R.rand() < self.flip_prob) for _ in range(3))

    def _apply(self, value: torch.Tensor) -> torch.Tensor:
        tensor = value.as_tensor() if isinstance(value, MetaTensor) else torch.as_tensor(value)
        out = tensor.permute(0, *(a + 1 for a in self.order))
        dims = [i + 1 for i, f in enumerate(self.flips) if f]
        if dims:
            out = out.flip(dims)
        out = out.contiguous()
        if isinstance(value, MetaTensor):
            # New voxel index n maps to old index o: o[order[i]] = n[i], or size-1-n[i] when flipped.
            sizes = out.shape[1:]
            index_map = torch.zeros(4, 4, dtype=torch.float64)
            index_map[3, 3] = 1.0
            for i, axis in enumerate(self.order):
                index_map[axis, i] = -1.0 if self.flips[i] else 1.0
                index_map[axis, 3] = float(sizes[i] - 1) if self.flips[i] else 0.0
            affine = value.affine.double() @ index_map
            out = MetaTensor(out, affine=affine, meta={k: v for k, v in value.meta.items() if k != "affine"})
        return out

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        self.randomize()
        for key in self.key_iterator(d):
            d[key] = self._apply(d[key])
        return d
