"""AMOS 2022, MR scans (task 7): 13 abdominal organs.

Release: ``amos22.zip`` of the post-challenge Zenodo record 7262581 (with validation labels)::

    amos22/dataset.json                   "training", "validation", "test" lists, "labels" 0..15
    amos22/imagesTr/amos_0507.nii.gz      ids above 500 are MR, the rest CT
    amos22/labelsTr/amos_0507.nii.gz
    amos22/imagesVa/ + labelsVa/          the official validation set
    amos22/imagesTs/                      the official test set (no labels)

Only MR cases are converted (id > 500, as the AMOS paper numbers them); the official training, validation
and test lists are kept. MR label files have no bladder (14) or prostate/uterus (15): a file that holds
them is reported and skipped.
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.layout import decathlon_entries, find_root, stem

__all__ = ["SPECS"]

_LAYOUT = """amos22/dataset.json
amos22/imagesTr/amos_0507.nii.gz + amos22/labelsTr/amos_0507.nii.gz
amos22/imagesVa/ + labelsVa/, amos22/imagesTs/"""
_FIRST_MR = 501


def _discover(run: Conversion) -> None:
    root = find_root(run.source, "dataset.json", _LAYOUT)
    entries = decathlon_entries(root, ("training", "validation", "test"))
    ct = 0
    for list_name, image, label in entries:
        case = stem(image)
        if int(case.rsplit("_", 1)[1]) < _FIRST_MR:
            ct += 1
            continue
        with run.attempt(case):
            run.add(
                Case(
                    case,
                    subject=case,
                    images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                    label=run.link(label) if label is not None else None,
                    split=None if list_name == "training" else list_name,
                )
            )
    run.note(f"{ct} CT cases (id <= 500) left out.")


SPECS = (
    DatasetSpec(
        name="amos",
        title="AMOS 2022 (MR)",
        tasks=("amos_abdomen_seg",),
        download="https://zenodo.org/records/7262581",
        release="amos22.zip (Zenodo 7262581, post-challenge release with validation labels)",
        licence="CC BY 4.0",
        citation="Ji et al., AMOS: a large-scale abdominal multi-organ benchmark for versatile medical image "
        "segmentation, NeurIPS Datasets and Benchmarks (2022), arXiv:2206.08023",
        layout=_LAYOUT,
        discover=_discover,
    ),
)
