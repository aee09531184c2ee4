"""EMIDEC (task 2): delayed-enhancement cardiac MRI with myocardial infarction labels.

Release: ``emidec-dataset-1.0.1`` (training, 100 cases) and ``emidec-segmentation-testset-1.0.0`` (50 cases,
no contours), from http://emidec.com, unpacked side by side::

    emidec-dataset-1.0.1/Case_N006/Images/Case_N006.nii.gz
    emidec-dataset-1.0.1/Case_N006/Contours/Case_N006.nii.gz     0 bg, 1 cavity, 2 myocardium, 3 infarct, 4 no-reflow
    emidec-segmentation-testset-1.0.0/Case_T001/Images/Case_T001.nii.gz

A case without ``Contours`` belongs to the test set.
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.layout import stem

__all__ = ["SPECS"]


def _discover(run: Conversion) -> None:
    for image in run.glob("**/Case_*/Images/Case_*.nii*"):
        case = stem(image)
        label = image.parent.parent / "Contours" / image.name
        with run.attempt(case):
            run.add(
                Case(
                    case,
                    subject=case,
                    images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                    label=run.link(label) if label.exists() else None,
                    split=None if label.exists() else "test",
                )
            )


SPECS = (
    DatasetSpec(
        name="emidec",
        title="EMIDEC",
        tasks=("emidec_heart_seg",),
        download="http://emidec.com/dataset",
        release="emidec-dataset-1.0.1 + emidec-segmentation-testset-1.0.0",
        licence="research use under the challenge's terms",
        citation="Lalande et al., Emidec: a database usable for the automatic evaluation of myocardial infarction "
        "from delayed-enhancement cardiac MRI, Data 5(4):89 (2020)",
        layout="emidec-dataset-1.0.1/Case_N006/Images/Case_N006.nii.gz\n"
        "emidec-dataset-1.0.1/Case_N006/Contours/Case_N006.nii.gz",
        discover=_discover,
    ),
)
