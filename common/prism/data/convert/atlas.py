"""ATLAS 2023, A Tumour and Liver Automatic Segmentation (tasks 9 and 25): contrast-enhanced T1 MRI of HCC.

Release: ``atlas-train-dataset-1.0.1.zip`` from https://atlas-challenge.u-bourgogne.fr (60 training cases)::

    atlas-train-dataset-1.0.1/train/imagesTr/im0.nii.gz
    atlas-train-dataset-1.0.1/train/labelsTr/lb0.nii.gz        0 background, 1 liver, 2 tumour

The same files feed both tasks: for the liver task (external: every case is a test case) liver is 1 and 2,
for the tumour task 1 counts as background (the registry says so; nothing is rewritten).
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.layout import paired_folders

__all__ = ["SPECS"]


def _discover(run: Conversion) -> None:
    for images in sorted({p.parent for p in run.glob("**/imagesTr/im*.nii.gz")}):
        for case, image, label in paired_folders(
            run.glob("im*.nii.gz", images), images.parent / "labelsTr", "im", "lb"
        ):
            with run.attempt(case):
                run.add(
                    Case(
                        case,
                        subject=case,
                        images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                        label=run.link(label) if label is not None else None,
                    )
                )


SPECS = (
    DatasetSpec(
        name="atlas",
        title="ATLAS 2023 (liver)",
        tasks=("atlas_tumour_seg", "atlas_liver_seg"),
        download="https://atlas-challenge.u-bourgogne.fr/dataset",
        release="atlas-train-dataset-1.0.1",
        licence="CC BY-NC-SA 4.0",
        citation="Quinton et al., A tumour and liver automatic segmentation (ATLAS) dataset on contrast-enhanced "
        "magnetic resonance imaging for hepatocellular carcinoma, Data 8(5):79 (2023)",
        layout="atlas-train-dataset-1.0.1/train/imagesTr/im0.nii.gz\n"
        "atlas-train-dataset-1.0.1/train/labelsTr/lb0.nii.gz",
        discover=_discover,
    ),
)
