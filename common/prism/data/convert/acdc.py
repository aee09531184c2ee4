"""ACDC, the Automated Cardiac Diagnosis Challenge (task 1): cine MRI at end-diastole and end-systole.

Release: the 2017 challenge data as re-published with the test ground truth (CREATIS "ACDC" database,
``database.zip``), unpacked as it comes::

    database/training/patient001/Info.cfg                 "ED: 1", "ES: 12", "Group: DCM", ...
    database/training/patient001/patient001_frame01.nii.gz and patient001_frame01_gt.nii.gz
    database/training/patient001/patient001_4d.nii.gz     (the whole cine; not used)
    database/testing/patient101/...                        the official test set (with _gt files)

Each annotated frame is a case (``patient001_frame01``, with ``phase`` ED or ES from ``Info.cfg``); the
patient is the subject, so ED and ES of one patient never land in different lists.
"""

from __future__ import annotations

import re
from pathlib import Path

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.layout import stem

__all__ = ["SPECS"]

_LAYOUT = """database/training/patient001/Info.cfg
database/training/patient001/patient001_frame01.nii.gz + patient001_frame01_gt.nii.gz
database/testing/patient101/... (official test set)"""


def _phases(info: Path) -> dict[int, str]:
    """Frame number -> "ED"/"ES" from an ``Info.cfg`` (``KEY: value`` lines)."""
    values = {}
    for line in info.read_text(errors="replace").splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            values[key.strip().upper()] = value.strip()
    try:
        return {int(float(values["ED"])): "ED", int(float(values["ES"])): "ES"}
    except (KeyError, ValueError) as error:
        raise CaseSkip(f"{info.name} has no readable ED/ES frame numbers ({error})") from error


def _discover(run: Conversion) -> None:
    for info in run.glob("**/patient[0-9][0-9][0-9]/Info.cfg"):
        patient = info.parent.name
        split = "test" if info.parent.parent.name.lower() == "testing" else None
        with run.attempt(patient):
            phases = _phases(info)
            frames = [p for p in run.glob("*.nii.gz", info.parent) if re.fullmatch(rf"{patient}_frame\d\d", stem(p))]
            for image in frames:
                case = stem(image)
                frame = int(case.rsplit("frame", 1)[1])
                label = image.with_name(f"{case}_gt.nii.gz")
                run.add(
                    Case(
                        case,
                        subject=patient,
                        images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                        label=run.link(label) if label.exists() else None,
                        split=split,
                        fields={"phase": phases.get(frame, "other")},
                    )
                )


SPECS = (
    DatasetSpec(
        name="acdc",
        title="ACDC",
        tasks=("acdc_heart_seg",),
        download="https://www.creatis.insa-lyon.fr/Challenge/acdc/databases.html",
        release="ACDC database (training 100 + testing 50 patients, test ground truth published 2021)",
        licence="research use under the challenge's terms (CREATIS)",
        citation="Bernard et al., Deep learning techniques for automatic MRI cardiac multi-structures segmentation "
        "and diagnosis: is the problem solved?, IEEE TMI 37(11):2514-2525 (2018)",
        layout=_LAYOUT,
        discover=_discover,
    ),
)
