"""OASIS-3 (tasks 33 and 40): T1 MRI with clinical dementia rating (CDR) and age.

Release: OASIS-3 from XNAT Central / NITRC (BIDS-named NIfTI from the oasis-scripts download) with the
demographics and CDR tables of the OASIS-3 data files::

    .../sub-OAS30001_ses-d0129_run-01_T1w.nii.gz     (any folder tree: the BIDS names are what is read)
    OASIS3_demographics.csv                          OASISID, AgeatEntry, GENDER (1 male, 2 female)
    OASIS3_UDSb4_cdr.csv                             OASISID, days_to_visit, CDRTOT

A session (``ses-d0129``: 129 days after entry) is a case, with its first T1w run. ``age`` = AgeatEntry + days
/ 365.25. The dementia label is ``CDR<global CDR>`` (CDR0, CDR0.5, CDR1, ...) from the CDR assessment closest
to the scan within a year; sessions without one are skipped (the paper does not give its class split).
"""

from __future__ import annotations

import re

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.tables import read_table

__all__ = ["SPECS"]

_SCAN = re.compile(r"sub-(?P<subject>OAS3\d+)_ses-d(?P<days>\d+)(?:_.*)?_T1w\.nii(\.gz)?$")
_WINDOW_DAYS = 365
_SEX = {"1": "M", "2": "F"}


def _table(run: Conversion, pattern: str, what: str):
    paths = run.glob(f"**/{pattern}")
    if not paths:
        raise ConversionError(f"{run.source}: no {pattern} ({what}).")
    return read_table(paths[0])


def _cdr(run: Conversion) -> dict[str, list[tuple[int, float]]]:
    table = _table(run, "*cdr*.csv", "CDR assessments")
    subject, days, cdr = (
        table.column("OASISID", "Subject"),
        table.column("days_to_visit"),
        table.column("CDRTOT", "cdr"),
    )
    out: dict[str, list[tuple[int, float]]] = {}
    for row in table.rows:
        if row[days].strip() and row[cdr].strip():
            out.setdefault(row[subject].strip(), []).append((int(float(row[days])), float(row[cdr])))
    return out


def _cdr_name(value: float) -> str:
    return f"CDR{value:g}"


def _discover(run: Conversion) -> None:
    demographics = _table(run, "*demographics*.csv", "ages at entry")
    oasis_id, entry = demographics.column("OASISID", "Subject"), demographics.column("AgeatEntry")
    gender = demographics.column("GENDER", "M/F", required=False)
    people = {row[oasis_id].strip(): row for row in demographics.rows}
    cdr = _cdr(run) if run.task.family == "grading" else {}
    seen = set()
    for path in run.glob("**/sub-OAS3*_T1w.nii*"):
        match = _SCAN.match(path.name)
        if match is None:
            continue
        subject, days = match.group("subject"), int(match.group("days"))
        case = f"{subject}_d{days:04d}"
        if case in seen:
            continue
        seen.add(case)
        with run.attempt(case):
            if subject not in people:
                raise CaseSkip("not in the demographics table")
            row = people[subject]
            fields = {}
            if run.task.family == "age":
                fields["age"] = round(float(row[entry]) + days / 365.25, 2)
                if gender and row.get(gender, "").strip():
                    fields["sex"] = _SEX.get(row[gender].strip(), row[gender].strip())
            else:
                near = sorted((abs(d - days), value) for d, value in cdr.get(subject, []))
                if not near or near[0][0] > _WINDOW_DAYS:
                    raise CaseSkip("no CDR assessment within a year of the scan")
                fields["label"] = run.class_name(_cdr_name(near[0][1]))
            key = run.task.input_keys[0]
            run.add(Case(case, subject=subject, images={key: run.link(path)}, fields=fields))


SPECS = (
    DatasetSpec(
        name="oasis3",
        title="OASIS-3",
        tasks=("oasis3_dementia_grade", "oasis3_brain_age"),
        download="https://sites.wustl.edu/oasisbrains/home/oasis-3/",
        release="OASIS-3 T1w NIfTI (BIDS names, oasis-scripts download) + OASIS3_demographics.csv + "
        "OASIS3_UDSb4_cdr.csv",
        licence="OASIS Data Use Agreement",
        citation="LaMontagne et al., OASIS-3: longitudinal neuroimaging, clinical, and cognitive dataset for normal "
        "aging and Alzheimer disease, medRxiv 2019.12.13.19014902 (2019)",
        layout="**/sub-OAS30001_ses-d0129_run-01_T1w.nii.gz\nOASIS3_demographics.csv, OASIS3_UDSb4_cdr.csv",
        discover=_discover,
    ),
)
