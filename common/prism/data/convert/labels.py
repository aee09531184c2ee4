"""From the values a dataset's label files hold to the values the task's bundle expects.

The registry (``Task.labels[*].values`` and ``background_values``) says which values a bundle accepts. A
converter says what its dataset's values *mean*, by class name (``{421: "left_atrium"}`` for MM-WHS's stray
value, ``{2: "csPCa", ...}`` for PI-CAI's ISUP-graded lesions). A value that the registry accepts for the
class it means is kept; one that means a registered class under another value is rewritten to that class's
value; a value that neither knows stops the case (it is reported, never trained on silently).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from prism.data.convert.files import ConversionError
from prism.tasks.spec import Task

__all__ = ["BACKGROUND", "LabelPlan", "label_values", "plan_labels", "relabel"]

BACKGROUND = "background"


@dataclass(frozen=True)
class LabelPlan:
    """What to do with one label file: values to rewrite (old -> new) and values nobody knows."""

    remap: dict[int, int]
    unknown: tuple[int, ...]


def label_values(array: np.ndarray, name: str) -> list[int]:
    """Sorted distinct values of a label map.

    Raises:
        ValueError: naming the file for non-integer or non-finite values.
    """
    values = np.unique(np.asarray(array))
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: label map holds NaN or infinite values.")
        if not np.all(values == np.round(values)):
            raise ValueError(f"{name}: label map holds non-integer values {values[values != np.round(values)][:5]}.")
    elif values.dtype.kind not in "iub":
        raise ValueError(f"{name}: label map of type {values.dtype} is not integer.")
    return [int(v) for v in values]


def _class_value(task: Task, name: str) -> tuple[tuple[int, ...], int]:
    """(values the registry accepts for class ``name``, the value to write for it)."""
    if name == BACKGROUND:
        return tuple(task.background_values), task.background_values[0]
    for label in task.labels:
        if label.name == name:
            return label.values, label.value
    raise ConversionError(
        f"the converter maps a label value to class {name!r}, which task {task.name!r} does not have "
        f"(classes: {list(task.class_names)}): the registry and the converter disagree."
    )


def plan_labels(values: list[int], task: Task, meaning: Mapping[int, str]) -> LabelPlan:
    """Decide, for one label file, which values stay, which are rewritten and which are unknown.

    Args:
        values: distinct values found in the file.
        task: the task whose bundle reads the datalist.
        meaning: dataset value -> class name (or ``"background"``) for values whose meaning the converter
            knows; values absent here are kept when the registry accepts them.
    """
    accepted = set(task.raw_to_index())
    remap: dict[int, int] = {}
    unknown = []
    for value in values:
        if value in meaning:
            allowed, target = _class_value(task, meaning[value])
            if value not in allowed:
                remap[value] = target
        elif value not in accepted:
            unknown.append(value)
    return LabelPlan(remap=remap, unknown=tuple(unknown))


def relabel(array: np.ndarray, remap: Mapping[int, int]) -> np.ndarray:
    """A copy of ``array`` with every ``old`` value replaced by ``remap[old]`` (all at once, no chaining)."""
    out = np.array(array, copy=True)
    for old, new in remap.items():
        out[np.asarray(array) == old] = new
    return out
