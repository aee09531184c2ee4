"""MAMA-MIA (task 22): breast tumours on DCE-MRI (first post-contrast phase).

Release: Synapse syn60868042 (``synapse get -r syn60868042``)::

    images/DUKE_001/DUKE_001_0000.nii.gz ... _0001.nii.gz (first post-contrast) ... _000N.nii.gz
    segmentations/expert/DUKE_001.nii.gz              0 background, 1 tumour
    train_test_splits.csv                             columns train_split, test_split (patient ids)
    clinical_and_imaging_info.xlsx, patient_info_files/DUKE_001.json

The official test split is kept; the input is phase ``_0001`` (the project's choice, noted in the registry).
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.tables import read_table

__all__ = ["SPECS"]

_PHASE = "_0001"


def _test_patients(run: Conversion) -> set[str] | None:
    path = run.source / "train_test_splits.csv"
    if not path.is_file():
        run.note("no train_test_splits.csv: the official test split is unknown, all cases are in the pool.")
        return None
    table = read_table(path)
    return {v.strip() for v in table.values("test_split", "test") if v.strip()}


def _discover(run: Conversion) -> None:
    test = _test_patients(run)
    for image in run.glob(f"images/*/*{_PHASE}.nii.gz"):
        patient = image.parent.name
        label = run.source / "segmentations" / "expert" / f"{patient}.nii.gz"
        if not label.exists():
            label = run.source / "segmentations" / "expert" / f"{patient.lower()}.nii.gz"
        with run.attempt(patient):
            run.add(
                Case(
                    patient,
                    subject=patient,
                    images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                    label=run.link(label) if label.exists() else None,
                    split="test" if test is not None and patient in test else None,
                    fields={"site": patient.split("_")[0]},
                )
            )


SPECS = (
    DatasetSpec(
        name="mamamia",
        title="MAMA-MIA",
        tasks=("mamamia_tumour_seg",),
        download="https://doi.org/10.7303/syn60868042",
        release="MAMA-MIA v1 (Synapse syn60868042: images/, segmentations/expert/, train_test_splits.csv)",
        licence="CC BY-NC 4.0 (images under their TCIA collections' licences)",
        citation="Garrucho et al., A large-scale multicenter breast cancer DCE-MRI benchmark dataset with expert "
        "segmentations, Scientific Data 12:453 (2025)",
        layout="images/DUKE_001/DUKE_001_0001.nii.gz\nsegmentations/expert/DUKE_001.nii.gz\ntrain_test_splits.csv",
        discover=_discover,
    ),
)
