"""Input checks the task bundles put in front of their transforms.

Bad cases fail at load time with the case, the file and the problem named, instead of crashing deep in
a transform (a missing sequence) or training on wrong targets (an unexpected label value silently kept
by ``MapLabelValued``).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform

__all__ = ["CheckFinited", "CheckLabelValuesd", "RequireInputsd", "case_name"]


def case_name(data: Mapping[Hashable, Any]) -> str:
    """A readable name for a datalist entry: its ``case``/``id`` field, else its first file name."""
    for key in ("case", "id", "name"):
        if isinstance(data.get(key), str):
            return data[key]
    for value in data.values():
        if isinstance(value, (str, os.PathLike)):
            return os.path.basename(os.fspath(value).rstrip("/"))
    return "<unnamed case>"


def _filename(value: Any) -> str:
    meta = getattr(value, "meta", None) or {}
    return str(meta.get("filename_or_obj", "<in-memory image>"))


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
                raise ValueError(f"{_filename(d[key])}: label map {key!r} holds non-integer values.")
            bad = values[~torch.isin(values.long(), self.allowed)]
            if bad.numel():
                raise ValueError(
                    f"{_filename(d[key])}: label map {key!r} holds values {bad.long().tolist()} outside the "
                    f"task's label layout {self.allowed.tolist()}."
                )
        return d


class CheckFinited(MapTransform):
    """Raise a ``ValueError`` naming the file when an image holds NaN or infinite values."""

    def __init__(self, keys: KeysCollection) -> None:
        super().__init__(keys, allow_missing_keys=False)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            image = torch.as_tensor(d[key])
            if torch.is_floating_point(image) and not torch.isfinite(image).all():
                raise ValueError(f"{_filename(d[key])}: image {key!r} holds NaN or infinite values.")
        return d
