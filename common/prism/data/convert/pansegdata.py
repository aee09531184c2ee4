"""PanSegData, MR part (task 10, external): pancreas on T1- or T2-weighted abdominal MRI.

Release: the OSF project https://osf.io/kysnj (``t1.zip``: 385 T1W volumes, ``t2.zip``: 382 T2W), unpacked as
they come::

    t1/imagesTr/<case>.nii.gz
    t1/labelsTr/<case>.nii.gz        0 background, 1 pancreas

``--sequence t1`` (default; the registry's input) or ``t2`` picks the set. As an external task every case is
a test case. The paper does not say which set it used (the registry notes the assumption).
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.layout import paired_folders

__all__ = ["SPECS"]


def _discover(run: Conversion) -> None:
    folder = run.source / run.options["sequence"] if (run.source / run.options["sequence"]).is_dir() else run.source
    if not (folder / "imagesTr").is_dir():
        raise ConversionError(
            f"{run.source}: no {run.options['sequence']}/imagesTr folder. Expected layout:\n{SPECS[0].layout}"
        )
    for case, image, label in paired_folders(run.glob("imagesTr/*.nii*", folder), folder / "labelsTr"):
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
        name="pansegdata",
        title="PanSegData (MR)",
        tasks=("pansegdata_pancreas_seg",),
        download="https://osf.io/kysnj",
        release="PanSegData OSF project kysnj, t1.zip / t2.zip",
        licence="CC BY-NC 4.0",
        citation="Zhang et al., Large-scale multi-center CT and MRI segmentation of pancreas with deep learning, "
        "Medical Image Analysis 99:103382 (2025)",
        layout="t1/imagesTr/<case>.nii.gz + t1/labelsTr/<case>.nii.gz (t2/ likewise)",
        discover=_discover,
        options={"sequence": ("t1", "t2")},
        defaults={"sequence": "t1"},
    ),
)
