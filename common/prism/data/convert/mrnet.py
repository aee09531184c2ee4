"""MRNet v1.0 (task 27): knee MRI exams labelled abnormal, ACL tear and meniscal tear.

Release: ``MRNet-v1.0.zip`` from the Stanford ML Group, unpacked as it comes::

    MRNet-v1.0/train/sagittal/0000.npy, coronal/0000.npy, axial/0000.npy    uint8 (slices, 256, 256)
    MRNet-v1.0/train-abnormal.csv, train-acl.csv, train-meniscus.csv        "0000,1" (no header)
    MRNet-v1.0/valid/...  valid-*.csv                                      the public validation set

The ``.npy`` stacks carry no geometry: each becomes NIfTI with 1 mm voxels and an identity affine (slices on
the third axis), so ``Spacingd`` to 1 mm leaves them as they are. ``valid`` is the official evaluation set
(the test list); the datalist ``label`` lists the positive findings.
"""

from __future__ import annotations

import numpy as np

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.layout import find_root, stem
from prism.data.convert.tables import read_rows

__all__ = ["SPECS"]

_FINDINGS = {"abnormal": "abnormal", "acl": "ACL_tear", "meniscus": "meniscal_tear"}
_PLANES = ("sagittal", "coronal", "axial")


def _discover(run: Conversion) -> None:
    root = find_root(
        run.source, "train-abnormal.csv", "MRNet-v1.0/train/{sagittal,coronal,axial}/0000.npy + train-*.csv"
    )
    channels = {plane: next(c for c in run.task.channels if c.lower() == plane) for plane in _PLANES}
    for split in ("train", "valid"):
        findings: dict[str, list[str]] = {}
        for suffix, name in _FINDINGS.items():
            for row in read_rows(root / f"{split}-{suffix}.csv", delimiter=","):
                if int(float(row[1])):
                    findings.setdefault(row[0].zfill(4), []).append(run.class_name(name))
        for exam in run.glob(f"{split}/sagittal/*.npy", root):
            case = stem(exam)
            with run.attempt(case):
                files = {}
                for plane in _PLANES:
                    array = np.load(run.require(root / split / plane / f"{case}.npy"))
                    if array.ndim != 3:
                        raise CaseSkip(f"{plane}/{case}.npy has shape {array.shape}, not (slices, 256, 256)")
                    volume = np.ascontiguousarray(np.transpose(array, (2, 1, 0)))
                    files[channels[plane]] = run.write(case, run.key_of(channels[plane]), volume, np.eye(4))
                run.add(
                    Case(
                        case,
                        subject=case,
                        images=run.channel_keys(files),
                        split="test" if split == "valid" else None,
                        fields={"label": findings.get(case, [])},
                    )
                )


SPECS = (
    DatasetSpec(
        name="mrnet",
        title="MRNet v1.0",
        tasks=("mrnet_knee_abn",),
        download="https://stanfordmlgroup.github.io/competitions/mrnet/",
        release="MRNet-v1.0.zip (train 1130 + valid 120 exams)",
        licence="Stanford University School of Medicine MRNet Dataset Research Use Agreement",
        citation="Bien et al., Deep-learning-assisted diagnosis for knee magnetic resonance imaging: development "
        "and retrospective validation of MRNet, PLOS Medicine 15(11):e1002699 (2018)",
        layout="MRNet-v1.0/train/{sagittal,coronal,axial}/0000.npy\n"
        "MRNet-v1.0/train-{abnormal,acl,meniscus}.csv, valid/...",
        discover=_discover,
    ),
)
