"""Frozen records that describe one downstream task of the PRISM paper.

A :class:`Task` is the single source of truth from which a task's bundle is generated: its input
sequences become the input channels, its label classes the output channels and ``channel_def``, and
its crop size and spacing the training and inference geometry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "COHORTS",
    "FAMILIES",
    "SEGMENTATION_FAMILIES",
    "LabelClass",
    "LabelMapping",
    "LabelRegion",
    "Task",
]

# family -> suffix of the task name (the bundle name is "prism_" + task name).
FAMILIES: dict[str, str] = {
    "organ_seg": "seg",
    "lesion_seg": "seg",
    "abnormality": "abn",
    "grading": "grade",
    "progression": "prog",
    "sequence_id": "seqid",
    "age": "age",
    "registration": "reg",
    "report": "report",
}
SEGMENTATION_FAMILIES = ("organ_seg", "lesion_seg")
COHORTS = ("held-out", "independent", "external")
_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")


@dataclass(frozen=True)
class LabelClass:
    """One output class and the label-file values that make it up.

    Args:
        name: short class name, used in ``channel_def`` and in metric columns.
        values: values in the dataset's own label files that belong to this class. Several values
            merge into one class (SPIDER numbers each vertebra); predictions write ``values[0]``.
    """

    name: str
    values: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.name or not self.values:
            raise ValueError(f"LabelClass needs a name and at least one value, got {self!r}.")

    @property
    def value(self) -> int:
        """The value written for this class in predicted label maps."""
        return self.values[0]


@dataclass(frozen=True)
class LabelRegion:
    """An evaluation region made of several classes (BraTS: TC = NCR + ET)."""

    name: str
    classes: tuple[str, ...]


@dataclass(frozen=True)
class LabelMapping:
    """For an external task: one target class and the source-task classes that predict it."""

    target: str
    source: tuple[str, ...]


@dataclass(frozen=True)
class Task:
    """One of the paper's 44 downstream tasks.

    Args:
        number: row in the paper's task list (1-44).
        name: ``<dataset>_<target>_<family suffix>``; the bundle is ``prism_<name>``.
        family: a key of :data:`FAMILIES`.
        dataset: the dataset's usual name.
        cohort: ``held-out``, ``independent`` or ``external`` (see the paper, Fig. 1c).
        region: body region.
        channels: input sequences, one network input channel each, in channel order.
        labels: segmentation: foreground classes in output-channel order (background is channel 0);
            classification: the predicted classes or binary labels. Empty for regression and others.
        metric: the paper's metric for the task.
        paper_figure: the figure the paper reports for PRISM (Dice %, ACC %, MAE years, BLEU-1), if any.
        paper_note: the paper's statement where it reports no single figure.
        roi_size: training crop and sliding-window size in voxels.
        spacing: voxel size (mm) the network works at.
        background_values: label-file values that count as background.
        regions: evaluation regions made of several classes (BraTS ET/TC/WT).
        source_task: external tasks: the task whose trained model is evaluated.
        label_mapping: external tasks: how source classes map to this task's classes.
        data_source: where the data comes from.
        data_license: licence or terms of the data, as far as the project knows.
        reference: the dataset's citation.
        notes: caveats (uncertain label layouts, conversions the user must do).
    """

    number: int
    name: str
    family: str
    dataset: str
    cohort: str
    region: str
    channels: tuple[str, ...]
    labels: tuple[LabelClass, ...]
    metric: str
    paper_figure: float | None = None
    paper_note: str = ""
    roi_size: tuple[int, int, int] = (96, 96, 96)
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    background_values: tuple[int, ...] = (0,)
    regions: tuple[LabelRegion, ...] = ()
    source_task: str | None = None
    label_mapping: tuple[LabelMapping, ...] = ()
    data_source: str = ""
    data_license: str = ""
    reference: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        where = f"task {self.number} ({self.name!r})"
        if self.family not in FAMILIES:
            raise ValueError(f"{where}: family {self.family!r} is not one of {sorted(FAMILIES)}.")
        if self.cohort not in COHORTS:
            raise ValueError(f"{where}: cohort {self.cohort!r} is not one of {COHORTS}.")
        if not _NAME.match(self.name) or not self.name.endswith("_" + FAMILIES[self.family]):
            raise ValueError(
                f"{where}: names are lower-case '<dataset>_<target>_{FAMILIES[self.family]}' for family "
                f"{self.family!r}."
            )
        if not self.channels:
            raise ValueError(f"{where}: needs at least one input channel.")
        if len(set(self.input_keys)) != len(self.input_keys):
            raise ValueError(f"{where}: channel names {self.channels} give duplicate datalist keys.")
        names = [c.name for c in self.labels]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: duplicate class names in {names}.")
        if self.is_segmentation:
            self._check_segmentation(where)
        if (self.cohort == "external") != (self.source_task is not None) and self.is_segmentation:
            raise ValueError(f"{where}: external segmentation tasks, and only they, name a source_task.")

    def _check_segmentation(self, where: str) -> None:
        if not self.labels:
            raise ValueError(f"{where}: a segmentation task needs at least one foreground class.")
        raw = [v for c in self.labels for v in c.values] + list(self.background_values)
        if len(set(raw)) != len(raw):
            raise ValueError(f"{where}: a label value appears in more than one class: {sorted(raw)}.")
        if any(r % 32 for r in self.roi_size) or len(self.roi_size) != 3:
            raise ValueError(f"{where}: roi_size {self.roi_size} must be 3 multiples of 32 (SwinUNETR).")
        known = set(self.class_names)
        for region in self.regions:
            if not set(region.classes) <= known:
                raise ValueError(f"{where}: region {region.name!r} names unknown classes {region.classes}.")
        for mapping in self.label_mapping:
            if mapping.target not in known:
                raise ValueError(f"{where}: label_mapping target {mapping.target!r} is not a class of this task.")

    @property
    def is_segmentation(self) -> bool:
        return self.family in SEGMENTATION_FAMILIES

    @property
    def is_external(self) -> bool:
        return self.cohort == "external"

    @property
    def bundle_name(self) -> str:
        """Folder name of the task's bundle under ``bundles/``."""
        return f"prism_{self.name}"

    @property
    def input_keys(self) -> tuple[str, ...]:
        """Datalist keys of the input files: ``image`` for one sequence, else one key per sequence."""
        if len(self.channels) == 1:
            return ("image",)
        return tuple(re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_") for c in self.channels)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.labels)

    @property
    def num_classes(self) -> int:
        """Output channels of a segmentation network: background plus one per class."""
        return len(self.labels) + 1

    def class_index(self, name: str) -> int:
        """Output channel of class ``name`` (background is 0)."""
        names = self.class_names
        if name not in names:
            raise ValueError(f"task {self.name!r} has no class {name!r}; classes: {names}.")
        return names.index(name) + 1

    def raw_to_index(self) -> dict[int, int]:
        """Every label-file value of the task mapped to its output channel (background 0)."""
        mapping = {v: 0 for v in self.background_values}
        for i, c in enumerate(self.labels, start=1):
            mapping.update({v: i for v in c.values})
        return dict(sorted(mapping.items()))
