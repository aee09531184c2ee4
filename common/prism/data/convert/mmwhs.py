"""MM-WHS 2017, MR part (task 3): whole-heart substructures.

Release: the MICCAI 2017 MM-WHS challenge data (``MR.zip`` / ``mr_train.zip``, ``mr_test.zip``)::

    mr_train/mr_train_1001_image.nii.gz
    mr_train/mr_train_1001_label.nii.gz     205 LV myocardium, 420 LA, 500 LV, 550 RA, 600 RV, 820 AA, 850 PA
    mr_test/mr_test_2001_image.nii.gz       no labels

Quirk: a stray value 421 next to the left atrium has been reported in some label files; it is mapped to
the left atrium (the report lists the files rewritten). Other unknown values skip the case.
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.layout import stem

__all__ = ["SPECS"]


def _discover(run: Conversion) -> None:
    for image in run.glob("**/mr_*_image.nii*"):
        case = stem(image)[: -len("_image")]
        label = image.with_name(image.name.replace("_image", "_label"))
        with run.attempt(case):
            run.add(
                Case(
                    case,
                    subject=case,
                    images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                    label=run.link(label) if label.exists() else None,
                    split="test" if case.startswith("mr_test") else None,
                )
            )


SPECS = (
    DatasetSpec(
        name="mmwhs",
        title="MM-WHS (MR)",
        tasks=("mmwhs_heart_seg",),
        download="https://zmiclab.github.io/zxh/0/mmwhs/",
        release="MM-WHS 2017 MR training (20) and test (40) volumes",
        licence="research use under the challenge's terms",
        citation="Zhuang, Multivariate mixture model for myocardial segmentation combining multi-source images, "
        "IEEE TPAMI 41(12):2933-2946 (2019); Zhuang et al., Medical Image Analysis 58:101537 (2019)",
        layout="mr_train/mr_train_1001_image.nii.gz + mr_train_1001_label.nii.gz\nmr_test/mr_test_2001_image.nii.gz",
        discover=_discover,
        label_meaning={421: "left_atrium"},
    ),
)
