"""BraTS 2021 (task 21): glioma sub-regions on T1, T1ce, T2 and FLAIR.

Release: the RSNA-ASNR-MICCAI BraTS 2021 Task 1 data from Synapse (syn25829067)::

    RSNA_ASNR_MICCAI_BraTS2021_TrainingData_16July2021/BraTS2021_00000/BraTS2021_00000_t1.nii.gz
        ... _t1ce.nii.gz, _t2.nii.gz, _flair.nii.gz, _seg.nii.gz   0, 1 NCR, 2 ED, 4 ET
    RSNA_ASNR_MICCAI_BraTS2021_ValidationData/BraTS2021_00001/...  no _seg: the test list

All four sequences are co-registered on one 1 mm grid; everything is referenced in place.
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec

__all__ = ["SPECS"]

# registry channel -> file suffix of the release
_SUFFIX = {"T1": "t1", "T1ce": "t1ce", "T2": "t2", "FLAIR": "flair"}


def _discover(run: Conversion) -> None:
    for t1 in run.glob("**/BraTS2021_*_t1.nii.gz"):
        case = t1.name[: -len("_t1.nii.gz")]
        folder = t1.parent
        label = folder / f"{case}_seg.nii.gz"
        with run.attempt(case):
            files = {channel: run.link(folder / f"{case}_{suffix}.nii.gz") for channel, suffix in _SUFFIX.items()}
            run.add(
                Case(
                    case,
                    subject=case,
                    images=run.channel_keys(files),
                    label=run.link(label) if label.exists() else None,
                    split=None if label.exists() else "test",
                )
            )


SPECS = (
    DatasetSpec(
        name="brats2021",
        title="BraTS 2021",
        tasks=("brats2021_tumour_seg",),
        download="https://www.synapse.org/brats2021",
        release="RSNA_ASNR_MICCAI_BraTS2021_TrainingData_16July2021 (+ ValidationData)",
        licence="BraTS 2021 data use terms (Synapse); CC BY 4.0 per the Synapse page (verify)",
        citation="Baid et al., The RSNA-ASNR-MICCAI BraTS 2021 benchmark on brain tumor segmentation and "
        "radiogenomic classification, arXiv:2107.02314 (2021); Menze et al., IEEE TMI 34(10):1993-2024 (2015)",
        layout="RSNA_ASNR_MICCAI_BraTS2021_TrainingData_16July2021/BraTS2021_00000/"
        "BraTS2021_00000_{t1,t1ce,t2,flair,seg}.nii.gz",
        discover=_discover,
    ),
)
