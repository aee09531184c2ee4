"""Fail-fast checks on loaded volumes, naming the file."""

from __future__ import annotations

from typing import Hashable, Mapping

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform

__all__ = ["ValidateVolumed", "source_name"]


def source_name(data: Mapping[Hashable, object], key: Hashable) -> str:
    """Best description of where ``data[key]`` came from: the MetaTensor's file name, else the record's path."""
    value = data[key]
    meta = getattr(value, "meta", None)
    if isinstance(meta, dict) and meta.get("filename_or_obj"):
        return str(meta["filename_or_obj"])
    for name in ("source", "image_path", "path"):
        if isinstance(data.get(name), str):
            return str(data[name])
    return f"<{key}>"


class ValidateVolumed(MapTransform):
    """Raise a ValueError naming the file when a volume has NaN/infinite voxels or the wrong dimensionality.

    Run it right after loading so that a bad volume stops the pipeline with its path instead of turning
    into a NaN loss many iterations later.

    Args:
        keys: keys of channel-first volumes, shape (C, X, Y, Z).
        channels: expected number of channels (None: any).
        min_size: smallest allowed spatial size per axis (a thin 2-D slab is not a 3-D volume).
        allow_missing_keys: do not fail when a key is absent.
    """

    def __init__(
        self,
        keys: KeysCollection,
        channels: int | None = 1,
        min_size: int = 2,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        self.channels = channels
        self.min_size = min_size

    def __call__(self, data: Mapping[Hashable, object]) -> dict[Hashable, object]:
        d = dict(data)
        for key in self.key_iterator(d):
            value = d[key]
            name = source_name(d, key)
            shape = tuple(value.shape)
            if len(shape) != 4:
                raise ValueError(f"{name}: expected a channel-first 3-D volume (C, X, Y, Z), got shape {shape}.")
            if self.channels is not None and shape[0] != self.channels:
                raise ValueError(f"{name}: expected {self.channels} channel(s), got shape {shape}.")
            if min(shape[1:]) < self.min_size:
                raise ValueError(f"{name}: spatial size {shape[1:]} is below {self.min_size} on some axis (2-D?).")
            array = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
            if array.is_floating_point():
                nans = int(torch.isnan(array).sum())
                if nans:
                    raise ValueError(f"{name}: {nans} NaN voxels.")
                if not bool(torch.isfinite(array).all()):
                    raise ValueError(f"{name}: infinite voxels.")
        return d
