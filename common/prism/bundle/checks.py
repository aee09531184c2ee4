"""Input checks that bundles put right after loading: a bad case stops with the case, the file and the problem.

Without them a missing sequence crashes deep in a transform, a NaN voxel turns into a NaN loss many iterations
later, and an unexpected label value is silently kept by ``MapLabelValued`` and trained on.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform

__all__ = ["CheckLabelValuesd", "CheckVolumed", "RequireInputsd", "case_name", "source_name"]


def case_name(data: Mapping[Hashable, Any]) -> str:
    """A readable name for a datalist entry: its ``case``/``id`` field, else its first file name."""
    for key in ("case", "id", "name"):
        if isinstance(data.get(key), str):
            return data[key]
    for value in data.values():
        if isinstance(value, (str, os.PathLike)):
            return os.path.basename(os.fspath(value).rstrip("/"))
    return "<unnamed case>"


def source_name(data: Mapping[Hashable, Any], key: Hashable) -> str:
    """Where ``data[key]`` came from: the MetaTensor's file name, else the record's path, else the key."""
    meta = getattr(data.get(key), "meta", None)
    if isinstance(meta, Mapping) and meta.get("filename_or_obj"):
        return str(meta["filename_or_obj"])
    for name in ("source", "image_path", "path"):
        if isinstance(data.get(name), str):
            return str(data[name])
    return f"<in-memory {key}>"


class RequireInputsd(MapTransform):
    """Raise a ``ValueError`` naming the case when an input sequence is missing or its file does not exist.

    Args:
        keys: datalist keys every case must have (one per input sequence, plus ``label`` when training).
    """

    def __init__(self, keys: KeysCollection) -> None:
        super().__init__(keys, allow_missing_keys=False)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        case = case_name(data)
        expected = ", ".join(map(str, self.keys))
        for key in self.keys:
            value = data.get(key)
            if value is None or (isinstance(value, (str, list, tuple)) and len(value) == 0):
                raise ValueError(
                    f"case {case!r}: sequence {key!r} is missing (every case needs: {expected}); "
                    f"the entry has keys {sorted(map(str, data))}."
                )
            paths = value if isinstance(value, (list, tuple)) else [value]
            for path in paths:
                if isinstance(path, (str, os.PathLike)) and not os.path.exists(path):
                    raise ValueError(f"case {case!r}: the file for {key!r} does not exist: {os.fspath(path)}")
        return dict(data)


class CheckVolumed(MapTransform):
    """Raise a ``ValueError`` naming the file when a loaded volume cannot be a valid input.

    Checks, in order: channel-first 3-D layout (C, X, Y, Z), the channel count, a minimum size on every
    spatial axis (a 2-D slice saved as a thin volume is not a 3-D image), and finite voxels (NaN, inf).

    Args:
        keys: keys of channel-first volumes (after ``LoadImaged(..., ensure_channel_first=True)``).
        channels: expected number of channels (None: any).
        min_size: smallest allowed spatial size per axis.
        allow_missing_keys: do not fail when a key is absent.
    """

    def __init__(
        self,
        keys: KeysCollection,
        channels: int | None = None,
        min_size: int = 2,
        allow_missing_keys: bool = False,
    ) -> None:
        super().__init__(keys, allow_missing_keys)
        if channels is not None and channels < 1:
            raise ValueError(f"CheckVolumed: channels should be >= 1 or None, got {channels}.")
        self.channels = channels
        self.min_size = int(min_size)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
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
            if array.is_floating_point() and not bool(torch.isfinite(array).all()):
                nans = int(torch.isnan(array).sum())
                what = f"{nans} NaN voxel(s)" if nans else "infinite voxels"
                raise ValueError(f"{name}: image {key!r} holds {what}.")
        return d


class CheckLabelValuesd(MapTransform):
    """Raise a ``ValueError`` naming the file when a label map holds values outside the task's layout.

    Args:
        keys: label keys to check (after loading).
        allowed: every value the task's label files may contain, background included.
    """

    def __init__(self, keys: KeysCollection, allowed: Sequence[int]) -> None:
        super().__init__(keys, allow_missing_keys=False)
        if not allowed:
            raise ValueError("CheckLabelValuesd needs at least one allowed label value.")
        self.allowed = torch.as_tensor(sorted(set(int(v) for v in allowed)))

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            values = torch.unique(torch.as_tensor(d[key]))
            if torch.is_floating_point(values) and not torch.equal(values, values.round()):
                raise ValueError(f"{source_name(d, key)}: label map {key!r} holds non-integer values.")
            bad = values[~torch.isin(values.long(), self.allowed)]
            if bad.numel():
                raise ValueError(
                    f"{source_name(d, key)}: label map {key!r} holds values {bad.long().tolist()} outside the "
                    f"task's label layout {self.allowed.tolist()}."
                )
        return d
