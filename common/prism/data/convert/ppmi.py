"""PPMI (task 35): T1 MRI of Parkinson's disease patients and controls.

Release: a LONI IDA download of PPMI T1 images with its collection CSV (the LONI layout of
:mod:`prism.data.convert.loni`)::

    PPMI/3102/MPRAGE_GRAPPA/2011-02-23_12_41_10.0/I281547/*.dcm
    <collection>.csv      Image Data ID, Subject, Group (PD, Control, Prodromal, SWEDD, ...), Sex, Age, Visit

``label`` = the collection's Group (Phantom scans are skipped).
"""

from __future__ import annotations

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.loni import image_file, loni_images

__all__ = ["SPECS"]


def _discover(run: Conversion) -> None:
    for image in loni_images(run, "PPMI"):
        case = f"{image.subject}_{image.image_id}"
        with run.attempt(case):
            group = image.row[image.table.column("Group")].strip()
            if not group or group.lower() == "phantom":
                raise CaseSkip(f"group {group!r} is not a participant group")
            key = run.task.input_keys[0]
            run.add(
                Case(
                    case,
                    subject=image.subject,
                    images={key: image_file(run, image, case, key)},
                    fields={"label": run.class_name(group)},
                )
            )


SPECS = (
    DatasetSpec(
        name="ppmi",
        title="PPMI (T1)",
        tasks=("ppmi_parkinson_grade",),
        download="https://ida.loni.usc.edu (PPMI, after approval)",
        release="LONI IDA image collection download + its collection CSV",
        licence="PPMI Data Use Agreement (no redistribution)",
        citation="Marek et al., The Parkinson Progression Marker Initiative (PPMI), Progress in Neurobiology "
        "95(4):629-635 (2011); cite PPMI as its data use agreement requires",
        layout="PPMI/<PATNO>/<description>/<date>/<image id>/*.dcm\n<collection>.csv",
        discover=_discover,
    ),
)
