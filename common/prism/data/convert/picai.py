"""PI-CAI public training and development data (tasks 23 and 34): biparametric prostate MRI.

Release: the images of Zenodo 6624726 (``picai_public_images_fold0.zip`` .. ``fold4.zip``, 1500 studies of
1476 patients) and the ``picai_labels`` repository (github.com/DIAGNijmegen/picai_labels), side by side::

    picai_public_images_fold0/10000/10000_1000000_t2w.mha, _adc.mha, _hbv.mha (_cor, _sag unused)
    picai_labels/csPCa_lesion_delineations/human_expert/resampled/10000_1000000.nii.gz   on the T2 grid
    picai_labels/csPCa_lesion_delineations/human_expert/Pooch25/10000_1000000.nii.gz     the 205 cases added 2025
    picai_labels/clinical_information/marksheet.csv    patient_id, study_id, case_ISUP, case_csPCa, center...

A study is a case, the patient the subject; the five image archives are the official folds (kept: fold 0 is
the validation list, ``--folds 5`` writes all five). Expert lesion labels carry the lesion's ISUP grade
(2-5), Pooch25's are binary (1): every positive value means csPCa. The grade task's label is ``ISUP<case_ISUP>``.
"""

from __future__ import annotations

import re

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.tables import read_table

__all__ = ["SPECS"]

_CHANNELS = {"T2": "t2w", "ADC": "adc", "HBV": "hbv"}
_LABEL_FOLDERS = ("human_expert/resampled", "human_expert/Pooch25")


def _marksheet(run: Conversion) -> dict[str, dict[str, str]]:
    sheets = run.glob("**/clinical_information/marksheet.csv")
    if not sheets:
        return {}
    table = read_table(sheets[0])
    patient, study = table.column("patient_id"), table.column("study_id")
    return {f"{row[patient]}_{row[study]}": row for row in table.rows}


def _discover(run: Conversion) -> None:
    segmentation = run.task.is_segmentation
    sheet = _marksheet(run)
    if not segmentation and not sheet:
        raise ConversionError(f"{run.source}: the grade task needs picai_labels/clinical_information/marksheet.csv.")
    lesions = [p.parent for p in run.glob("**/csPCa_lesion_delineations/human_expert/*/*.nii.gz")]
    label_dirs = [d for folder in _LABEL_FOLDERS for d in sorted(set(lesions)) if d.as_posix().endswith(folder)]
    for t2 in run.glob("**/picai_public_images_fold*/*/*_t2w.mha"):
        case = t2.name[: -len("_t2w.mha")]
        fold = int(re.search(r"fold(\d+)", t2.parent.parent.name).group(1))
        with run.attempt(case):
            files = {c: run.link(t2.with_name(f"{case}_{suffix}.mha")) for c, suffix in _CHANNELS.items()}
            fields = {"site": sheet.get(case, {}).get("center", "")} if sheet else {}
            label = None
            if segmentation:
                found = [d / f"{case}.nii.gz" for d in label_dirs if (d / f"{case}.nii.gz").is_file()]
                if not found:
                    raise CaseSkip("no human-expert lesion delineation")
                label = run.link(found[0])
            else:
                if case not in sheet:
                    raise CaseSkip("not in marksheet.csv")
                fields["label"] = run.class_name(f"ISUP{int(float(sheet[case]['case_ISUP']))}")
            run.add(
                Case(
                    case,
                    subject=case.split("_")[0],
                    images=run.channel_keys(files),
                    label=label,
                    fold=fold,
                    fields={k: v for k, v in fields.items() if v != ""},
                )
            )


SPECS = (
    DatasetSpec(
        name="picai",
        title="PI-CAI (public training and development)",
        tasks=("picai_lesion_seg", "picai_isup_grade"),
        download="https://pi-cai.grand-challenge.org/DATA/",
        release="picai_public_images_fold0-4 (Zenodo 6624726) + picai_labels (main, with Pooch25)",
        licence="CC BY-NC 4.0",
        citation="Saha et al., Artificial intelligence and radiologists in prostate cancer detection on MRI "
        "(PI-CAI): an international, paired, non-inferiority, confirmatory study, Lancet Oncology 25(7):879-887 "
        "(2024); Saha et al., PI-CAI study protocol, doi:10.5281/zenodo.6522364",
        layout="picai_public_images_fold0/10000/10000_1000000_{t2w,adc,hbv}.mha\n"
        "picai_labels/csPCa_lesion_delineations/human_expert/resampled/10000_1000000.nii.gz\n"
        "picai_labels/clinical_information/marksheet.csv",
        discover=_discover,
        label_meaning={1: "csPCa", 2: "csPCa", 3: "csPCa", 4: "csPCa", 5: "csPCa"},
    ),
)
