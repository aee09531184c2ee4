"""Medical Segmentation Decathlon: Task02_Heart, Task04_Hippocampus, Task05_Prostate (tasks 4, 5, 12).

Release: the MSD tarballs (``Task05_Prostate.tar``, 2018; http://medicaldecathlon.com, mirrored on AWS and
Google Drive), unpacked as they come::

    Task05_Prostate/dataset.json            "modality" {"0": "T2", "1": "ADC"}, "training", "test" lists
    Task05_Prostate/imagesTr/prostate_00.nii.gz   4-D: channels in the order of "modality"
    Task05_Prostate/labelsTr/prostate_00.nii.gz
    Task05_Prostate/imagesTs/prostate_03.nii.gz   no labels
    Task05_Prostate/imagesTr/._prostate_00.nii.gz AppleDouble companions (left out)

Cases come from ``dataset.json``'s lists (the official split: ``test`` has no labels). 4-D images are split
into one 3-D NIfTI per sequence, named by ``modality``; 3-D images are referenced in place.
"""

from __future__ import annotations

import numpy as np

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.layout import decathlon_entries, find_root, read_json, stem
from prism.data.convert.tables import normalise_header
from prism.data.convert.volumes import read_volume

__all__ = ["SPECS"]

_LICENCE = "CC BY-SA 4.0"
_CITATION = (
    "Antonelli et al., The Medical Segmentation Decathlon, Nature Communications 13:4128 (2022); "
    "Simpson et al., arXiv:1902.09063 (2019)"
)


def _layout(task: str, case: str) -> str:
    return (
        f"{task}/dataset.json\n{task}/imagesTr/{case}.nii.gz\n{task}/labelsTr/{case}.nii.gz\n"
        f"{task}/imagesTs/<case>.nii.gz (no labels)"
    )


def _channel_of(run: Conversion, modality: str) -> str:
    """The registry channel a ``dataset.json`` modality name stands for (one-channel tasks: the only one)."""
    if len(run.task.channels) == 1:
        return run.task.channels[0]
    for channel in run.task.channels:
        if normalise_header(channel) == normalise_header(modality):
            return channel
    raise ConversionError(f"dataset.json modality {modality!r} is none of the task's channels {run.task.channels}.")


def _discover(run: Conversion, folder: str) -> None:
    root = find_root(run.source, "dataset.json", _layout(folder, "<case>"))
    payload = read_json(root / "dataset.json")
    modality = payload.get("modality", {}) if isinstance(payload, dict) else {}
    names = [modality[k] for k in sorted(modality, key=int)] if modality else ["MRI"]
    channels = [_channel_of(run, name) for name in names]
    if len(names) > 1:
        run.note(f"4-D images split into {names} (dataset.json 'modality' order) -> {channels}.")
    entries = decathlon_entries(root, ("training", "test"))
    listed = {image.resolve() for _, image, _ in entries}
    unlisted = [p for p in run.glob("images*/*.nii.gz", root) if p.resolve() not in listed]
    if unlisted:
        run.note(f"{len(unlisted)} image(s) in the images folders are not in dataset.json and were left out.")
    for list_name, image, label in entries:
        case = stem(image)
        with run.attempt(case):
            run.require(image)
            if len(names) == 1:
                files = {channels[0]: run.link(image)}
            else:
                volume = read_volume(image)
                if volume.array.ndim != 4 or volume.array.shape[3] != len(names):
                    raise ValueError(f"{image.name}: shape {volume.shape}, expected 4-D with {len(names)} channels")
                files = {
                    channel: run.write(case, run.key_of(channel), np.asarray(volume.array[..., i]), volume.affine)
                    for i, channel in enumerate(channels)
                }
            run.add(
                Case(
                    case,
                    subject=case,
                    images=run.channel_keys(files),
                    label=run.link(label) if label is not None else None,
                    split="test" if list_name == "test" else None,
                )
            )


def _spec(name: str, folder: str, task: str, title: str, case: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        title=title,
        tasks=(task,),
        download="http://medicaldecathlon.com",
        release=f"MSD {folder}.tar (2018 release, dataset.json v1)",
        licence=_LICENCE,
        citation=_CITATION,
        layout=_layout(folder, case),
        discover=lambda run: _discover(run, folder),
    )


SPECS = (
    _spec("msd_heart", "Task02_Heart", "msd_heart_seg", "MSD Task02 Heart", "la_003"),
    _spec("msd_hippocampus", "Task04_Hippocampus", "msd_hippocampus_seg", "MSD Task04 Hippocampus", "hippocampus_001"),
    _spec("msd_prostate", "Task05_Prostate", "msd_prostate_seg", "MSD Task05 Prostate", "prostate_00"),
)
