"""ADNI (tasks 30, 36, 39): T1 MRI with diagnosis (CN, MCI, AD), progression and age.

Release: a LONI IDA download of ADNI T1 images (MPRAGE / IR-SPGR, DICOM or NIfTI) with its collection CSV,
and ``ADNIMERGE.csv`` (ADNI study data, "Key ADNI tables merged into one table") for the diagnoses over time::

    ADNI/002_S_0295/MPRAGE/2006-04-18_08_20_30.0/I13722/*.dcm
    <collection>.csv      Image Data ID, Subject, Group (CN, EMCI, LMCI, MCI, AD, SMC), Sex, Age, Visit, Acq Date
    ADNIMERGE.csv         PTID, VISCODE, EXAMDATE, DX (CN, MCI, Dementia), ...   (progression only)

- ``adni_ad_grade``: one case per image, ``label`` = the collection's Group (EMCI/LMCI count as MCI; SMC images
  are skipped: not one of the three stages).
- ``adni_brain_age``: ``age`` = the collection's Age at the scan, ``sex``.
- ``adni_ad_prog``: per subject, ``baseline`` = the first image, ``followup`` = an image ``--horizon`` months
  later (within 3 months) when there is one, ``label`` = ADNIMERGE's diagnosis at that time (within 3 months).
"""

from __future__ import annotations

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.loni import LoniImage, image_file, loni_images, parse_date
from prism.data.convert.tables import read_table

__all__ = ["SPECS", "stage"]

_STAGES = {"CN": "CN", "NL": "CN", "MCI": "MCI", "EMCI": "MCI", "LMCI": "MCI", "AD": "AD", "DEMENTIA": "AD"}
_WINDOW_DAYS = 92


def stage(text: str) -> str | None:
    """ADNI group or diagnosis text -> CN, MCI or AD (None for SMC, empty or unknown)."""
    return _STAGES.get(text.strip().upper().replace(" ", ""))


def _case_id(image: LoniImage) -> str:
    return f"{image.subject}_{image.image_id}"


def _grade_or_age(run: Conversion, images: list[LoniImage]) -> None:
    for image in images:
        case = _case_id(image)
        with run.attempt(case):
            key = run.task.input_keys[0]
            fields = {}
            if run.task.family == "age":
                age = float(image.row[image.table.column("Age")])
                sex = image.row.get(image.table.column("Sex", required=False) or "", "")
                fields = {"age": age, **({"sex": sex} if sex else {})}
            else:
                group = stage(image.row[image.table.column("Group")])
                if group is None:
                    raise CaseSkip(f"group {image.row[image.table.column('Group')]!r} is not CN, MCI or AD")
                fields = {"label": run.class_name(group)}
            run.add(Case(case, subject=image.subject, images={key: image_file(run, image, case, key)}, fields=fields))


def _diagnoses(run: Conversion) -> dict[str, list[tuple]]:
    paths = run.glob("**/ADNIMERGE*.csv")
    if not paths:
        raise ConversionError(f"{run.source}: the progression task needs ADNIMERGE.csv next to the images.")
    table = read_table(paths[0])
    ptid, when, dx = table.column("PTID"), table.column("EXAMDATE"), table.column("DX", "DX_bl")
    out: dict[str, list[tuple]] = {}
    for row in table.rows:
        day, diagnosis = parse_date(row[when]), stage(row[dx])
        if day is not None and diagnosis is not None:
            out.setdefault(row[ptid].strip(), []).append((day, diagnosis))
    return out


def _progression(run: Conversion, images: list[LoniImage]) -> None:
    diagnoses = _diagnoses(run)
    horizon = int(run.options["horizon"])
    by_subject: dict[str, list[LoniImage]] = {}
    for image in images:
        if image.acquired is not None:
            by_subject.setdefault(image.subject, []).append(image)
    for subject, scans in sorted(by_subject.items()):
        scans.sort(key=lambda s: s.acquired)
        baseline = scans[0]
        case = f"{subject}_m{horizon}"
        with run.attempt(case):
            target = horizon * 30.44
            near = [(abs((d - baseline.acquired).days - target), dx) for d, dx in diagnoses.get(subject, [])]
            near = [n for n in near if n[0] <= _WINDOW_DAYS]
            if not near:
                raise CaseSkip(f"no ADNIMERGE diagnosis {horizon} months (+-3) after the baseline scan")
            images = {"baseline": image_file(run, baseline, case, "baseline")}
            later = [s for s in scans[1:] if abs((s.acquired - baseline.acquired).days - target) <= _WINDOW_DAYS]
            if later:
                images["followup"] = image_file(run, later[0], case, "followup")
            run.add(Case(case, subject=subject, images=images, fields={"label": run.class_name(min(near)[1])}))


def _discover(run: Conversion) -> None:
    images = loni_images(run, "ADNI")
    (_progression if run.task.family == "progression" else _grade_or_age)(run, images)


SPECS = (
    DatasetSpec(
        name="adni",
        title="ADNI (T1)",
        tasks=("adni_ad_grade", "adni_brain_age", "adni_ad_prog"),
        download="https://ida.loni.usc.edu (ADNI, after approval)",
        release="LONI IDA image collection download + its collection CSV; ADNIMERGE.csv (study data)",
        licence="ADNI Data Use Agreement (no redistribution)",
        citation="Jack et al., The Alzheimer's Disease Neuroimaging Initiative (ADNI): MRI methods, JMRI 27(4):685-691 "
        "(2008); cite ADNI as its data use agreement requires",
        layout="ADNI/<PTID>/<description>/<date>/<image id>/*.dcm\n<collection>.csv\nADNIMERGE.csv (progression)",
        discover=_discover,
        options={"horizon": ()},
        defaults={"horizon": 12},
    ),
)
