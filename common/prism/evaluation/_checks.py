"""Input checks shared by the evaluation modules: every figure starts from finite numbers."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_finite_array", "check_same_length"]


def as_finite_array(values: Any, name: str, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Return ``values`` as a float64 array, or raise ``ValueError`` naming ``name`` if it holds NaN/inf.

    Args:
        values: array-like of numbers (lists, numpy arrays, torch tensors).
        name: what the values are, used in the error message (e.g. ``"y_score"`` or a file name).
        ndim: accepted number(s) of dimensions; ``None`` accepts any.
    """
    if hasattr(values, "detach"):  # torch tensor
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name}: expected numbers, got {type(values).__name__} ({error}).") from error
    if ndim is not None:
        accepted = (ndim,) if isinstance(ndim, int) else ndim
        if array.ndim not in accepted:
            raise ValueError(
                f"{name}: expected {' or '.join(map(str, accepted))} dimension(s), got shape {array.shape}."
            )
    if array.size == 0:
        raise ValueError(f"{name}: is empty.")
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: contains {int(bad.sum())} NaN/inf value(s) (first at index {first}); "
            "metrics are undefined on missing values, fix or drop those cases first."
        )
    return array


def check_same_length(first: np.ndarray, second: np.ndarray, names: tuple[str, str]) -> None:
    """Raise ``ValueError`` when two per-case arrays do not have the same number of cases."""
    if len(first) != len(second):
        raise ValueError(f"{names[0]} has {len(first)} cases but {names[1]} has {len(second)}; they must be paired.")
