"""PROMISE12 (task 13): T2-weighted prostate MRI with whole-gland labels.

Release: the grand-challenge download (``TrainingData_Part1.zip`` .. ``Part3.zip``, ``TestData.zip``), MetaImage
files as shipped::

    TrainingData_Part1/Case00.mhd + Case00.raw
    TrainingData_Part1/Case00_segmentation.mhd + .raw
    TestData/Case00.mhd                       (no labels; a different patient from training Case00)

MetaImage is read by MONAI's ``LoadImaged`` through ITK, so the files are referenced in place. Test cases are
named ``Test_CaseNN`` (their numbers repeat the training ones).
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.layout import stem

__all__ = ["SPECS"]


def _discover(run: Conversion) -> None:
    for image in run.glob("**/Case[0-9][0-9].mhd"):
        test = "test" in image.parent.name.lower()
        case = f"Test_{stem(image)}" if test else stem(image)
        label = image.with_name(f"{stem(image)}_segmentation.mhd")
        with run.attempt(case):
            run.add(
                Case(
                    case,
                    subject=case,
                    images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                    label=run.link(label) if label.exists() and not test else None,
                    split="test" if test else None,
                )
            )


SPECS = (
    DatasetSpec(
        name="promise12",
        title="PROMISE12",
        tasks=("promise12_prostate_seg",),
        download="https://promise12.grand-challenge.org/Download/",
        release="PROMISE12 TrainingData_Part1-3 (50 cases) + TestData (30 cases)",
        licence="research use under the challenge's terms",
        citation="Litjens et al., Evaluation of prostate segmentation algorithms for MRI: the PROMISE12 challenge, "
        "Medical Image Analysis 18(2):359-373 (2014)",
        layout="TrainingData_Part1/Case00.mhd + Case00_segmentation.mhd\nTestData/Case00.mhd",
        discover=_discover,
    ),
)
