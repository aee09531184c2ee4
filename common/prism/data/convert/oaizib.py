"""OAI-ZIB (task 16): knee bones and cartilage on 3D DESS MRI of the Osteoarthritis Initiative.

Release: OAI-ZIB-CM (Yao et al., 2025; Zenodo and Hugging Face ``YongchengYAO/OAIZIB-CM``), the curated
NIfTI edition of Ambellan et al.'s 507 segmentations with their images, in nnU-Net layout::

    imagesTr/oaizib_001_0000.nii.gz + labelsTr/oaizib_001.nii.gz
    imagesTs/oaizib_405_0000.nii.gz + labelsTs/oaizib_405.nii.gz    the official test set (labelled)

Labels: 1 femur, 2 femoral cartilage, 3 tibia, 4 medial and 5 lateral tibial cartilage; the registry's layout
has one tibial cartilage class (Ambellan et al.'s original 4 labels), so 5 is written as 4. The original ZIB
release ships masks only (images must be fetched from the OAI) and is not converted here.
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.layout import find_root, paired_folders

__all__ = ["SPECS"]

_LAYOUT = "imagesTr/oaizib_001_0000.nii.gz + labelsTr/oaizib_001.nii.gz\nimagesTs/ + labelsTs/ (official test set)"


def _discover(run: Conversion) -> None:
    root = find_root(run.source, "imagesTr", _LAYOUT)
    for images, labels, split in (("imagesTr", "labelsTr", None), ("imagesTs", "labelsTs", "test")):
        for case, image, label in paired_folders(run.glob(f"{images}/*.nii.gz", root), root / labels):
            with run.attempt(case):
                run.add(
                    Case(
                        case,
                        subject=case,
                        images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                        label=run.link(label) if label is not None else None,
                        split=split,
                    )
                )


SPECS = (
    DatasetSpec(
        name="oaizib",
        title="OAI-ZIB (OAI-ZIB-CM edition)",
        tasks=("oaizib_knee_seg",),
        download="https://huggingface.co/datasets/YongchengYAO/OAIZIB-CM",
        release="OAI-ZIB-CM v1.0 (nnU-Net layout, 404 training + 103 test knees)",
        licence="CC BY-NC 4.0 (OAI-ZIB-CM); images under the OAI data use agreement",
        citation="Ambellan et al., Automated segmentation of knee bone and cartilage combining statistical shape "
        "knowledge and convolutional neural networks, Medical Image Analysis 52:109-118 (2019); Yao et al., "
        "CartiMorph, Medical Image Analysis 91:103035 (2024)",
        layout=_LAYOUT,
        discover=_discover,
        label_meaning={4: "tibial_cartilage", 5: "tibial_cartilage"},
    ),
)
