"""Osteoarthritis Initiative (tasks 32 and 37): knee 3D DESS MRI with Kellgren-Lawrence grades.

Release: OAI image packages from the NIMH Data Archive (e.g. ``00m`` = baseline, ``12m``, ``24m``...), each
unpacked with its ``contents.csv``, and the central x-ray readings (``kxr_sq_bu00.txt`` for baseline,
``kxr_sq_bu01.txt`` for 12 months, ...)::

    00m/contents.csv        Folder, ParticipantID, StudyDate, Barcode, StudyDescription, SeriesDescription
    00m/0.C.2/9000099/20040909/10249506/001 ...      one DICOM series (files without extension)
    kxr_sq_bu00.txt         "ID|SIDE|READPRJ|...|V00XRKL|..."  (SIDE 1 right, 2 left)

Cases are the sagittal 3D DESS series (``SAG_3D_DESS_RIGHT`` / ``_LEFT``), one per knee and visit.
``oai_kl_grade``: ``label`` = ``KL<grade>`` of that knee at that visit. ``oai_kl_prog``: the baseline DESS as
``baseline``, the same knee's DESS ``--horizon`` months later as ``followup`` when present, ``label`` = its KL
grade then.
"""

from __future__ import annotations

import re

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.tables import read_table

__all__ = ["SPECS", "VISITS"]

# visit folder -> the two-digit visit code of OAI's variable names (V00XRKL, V01XRKL, ...)
VISITS = {
    "00m": "00",
    "12m": "01",
    "18m": "02",
    "24m": "03",
    "30m": "04",
    "36m": "05",
    "48m": "06",
    "72m": "08",
    "96m": "10",
}
_DESS = re.compile(r"SAG_3D_DESS_(RIGHT|LEFT)", re.IGNORECASE)
_SIDE = {"RIGHT": "1", "LEFT": "2"}


def _kl_grades(run: Conversion) -> dict[tuple[str, str, str], int]:
    """(participant, visit code, side 1/2) -> KL grade from every kxr_sq_bu*.txt."""
    grades = {}
    for path in run.glob("**/kxr_sq_bu*.txt"):
        code = re.search(r"bu(\d\d)", path.name.lower()).group(1)
        table = read_table(path, delimiter="|")
        participant, side = table.column("ID"), table.column("SIDE")
        kl = table.column(f"V{code}XRKL")
        for row in table.rows:
            value = row[kl].strip()
            if re.fullmatch(r"\d+(\.0)?", value):
                grades[(row[participant].strip(), code, row[side].strip()[:1])] = int(float(value))
    if not grades:
        raise ConversionError(f"{run.source}: no KL grades (kxr_sq_bu00.txt, ...).")
    return grades


def _dess_series(run: Conversion) -> dict[tuple[str, str, str], object]:
    """(participant, visit folder, RIGHT/LEFT) -> series folder, from every contents.csv."""
    series = {}
    for contents in run.glob("**/contents.csv"):
        visit = next((p for p in reversed(contents.parent.parts) if p in VISITS), None)
        table = read_table(contents)
        folder, participant, description = (
            table.column("Folder"),
            table.column("ParticipantID"),
            table.column("SeriesDescription"),
        )
        for row in table.rows:
            match = _DESS.search(row[description])
            if match is None:
                continue
            path = contents.parent / row[folder].strip().replace("\\", "/")
            row_visit = visit or next((p for p in path.parts if p in VISITS), None)
            if row_visit is not None:
                series[(row[participant].strip(), row_visit, match.group(1).upper())] = path
    return series


def _discover(run: Conversion) -> None:
    grades = _kl_grades(run)
    series = _dess_series(run)
    progression = run.task.family == "progression"
    horizon = f"{int(run.options['horizon'])}m"
    if progression and horizon not in VISITS:
        raise ConversionError(f"--horizon {run.options['horizon']}: OAI visits are {sorted(VISITS)}.")
    for (participant, visit, side), folder in sorted(series.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if progression and visit != "00m":
            continue
        case = f"{participant}_{visit}_{side.lower()}"
        with run.attempt(case):
            target_visit = horizon if progression else visit
            grade = grades.get((participant, VISITS[target_visit], _SIDE[side]))
            if grade is None:
                raise CaseSkip(f"no KL grade at {target_visit} for the {side.lower()} knee")
            key = "baseline" if progression else run.task.input_keys[0]
            images = {key: run.dicom_series(run.glob("*", run.require(folder, "series folder")), case, key)}
            later = series.get((participant, horizon, side)) if progression else None
            if later is not None and later.is_dir():
                images["followup"] = run.dicom_series(run.glob("*", later), case, "followup")
            run.add(Case(case, subject=participant, images=images, fields={"label": run.class_name(f"KL{grade}")}))


SPECS = (
    DatasetSpec(
        name="oai",
        title="Osteoarthritis Initiative (DESS)",
        tasks=("oai_kl_grade", "oai_kl_prog"),
        download="https://nda.nih.gov/oai (NIMH Data Archive, after registration)",
        release="OAI image packages (00m, 12m, ... with contents.csv) + kXR_SQ_BU semi-quantitative readings",
        licence="OAI Data Use Agreement",
        citation="Peterfy et al., The osteoarthritis initiative: report on the design rationale for the magnetic "
        "resonance imaging protocol for the knee, Osteoarthritis and Cartilage 16(12):1433-1441 (2008)",
        layout="00m/contents.csv + 00m/0.C.2/<participant>/<date>/<series>/001 ...\n"
        "kxr_sq_bu00.txt, kxr_sq_bu01.txt, ...",
        discover=_discover,
        options={"horizon": ()},
        defaults={"horizon": 12},
    ),
)
