"""OpenBHB (task 41): brain age from T1 MRI of healthy subjects (about 10 studies, 60+ sites).

Release: the OpenBHB Hugging Face dataset (benoit-dufumier/openBHB), quasi-raw arrays and participants table::

    train/derivatives/sub-1000606/ses-1/sub-1000606_preproc-quasiraw_T1w.npy     float32 (1, 182, 218, 182)
    val/derivatives/sub-.../ses-1/sub-..._preproc-quasiraw_T1w.npy               the official validation set
    participants.tsv                                     participant_id, age, sex, site, study, ...

Quasi-raw images are affinely registered to MNI152 at 1 mm (182 x 218 x 182); the ``.npy`` files carry no
header, so each becomes NIfTI with the MNI152 1 mm (FSL) affine. ``val`` is the test list (the challenge's
internal test set); ``site`` is kept for site-stratified analysis.
"""

from __future__ import annotations

import numpy as np

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.tables import read_table

__all__ = ["MNI152_1MM", "SPECS"]

# FSL's MNI152 1 mm grid: 182 x 218 x 182 voxels, RAS, origin at voxel (90, 126, 72).
MNI152_1MM = np.array([[-1.0, 0, 0, 90], [0, 1, 0, -126], [0, 0, 1, -72], [0, 0, 0, 1]])
_SHAPE = (182, 218, 182)


def _discover(run: Conversion) -> None:
    tables = run.glob("**/participants.tsv")
    if not tables:
        raise ConversionError(f"{run.source}: no participants.tsv (ages).")
    table = read_table(tables[0])
    pid, age = table.column("participant_id"), table.column("age")
    sex, site = table.column("sex", required=False), table.column("site", required=False)
    people = {row[pid].strip().removeprefix("sub-"): row for row in table.rows}
    for path in run.glob("**/sub-*_preproc-quasiraw_T1w.npy"):
        subject = path.name.split("_")[0].removeprefix("sub-")
        parts = [p.lower() for p in path.relative_to(run.source).parts]
        split = "test" if any(p.startswith("val") or p.startswith("test") for p in parts) else None
        with run.attempt(subject):
            if subject not in people:
                raise CaseSkip("not in participants.tsv")
            array = np.squeeze(np.load(path))
            if array.shape != _SHAPE:
                raise CaseSkip(f"array of shape {array.shape}, expected {_SHAPE} (quasi-raw)")
            row = people[subject]
            fields = {"age": float(row[age])}
            fields.update({k: row[c].strip() for k, c in (("sex", sex), ("site", site)) if c and row[c].strip()})
            key = run.task.input_keys[0]
            run.add(
                Case(
                    subject,
                    subject=subject,
                    images={key: run.write(subject, key, array, MNI152_1MM)},
                    split=split,
                    fields=fields,
                )
            )


SPECS = (
    DatasetSpec(
        name="openbhb",
        title="OpenBHB",
        tasks=("openbhb_brain_age",),
        download="https://huggingface.co/datasets/benoit-dufumier/openBHB",
        release="OpenBHB (Hugging Face benoit-dufumier/openBHB: quasi-raw .npy, participants.tsv)",
        licence="CC BY-NC-SA 3.0 (per the contributing studies' terms; verify)",
        citation="Dufumier et al., OpenBHB: a large-scale multi-site brain MRI data-set for age prediction and "
        "debiasing, NeuroImage 263:119637 (2022)",
        layout="{train,val}/derivatives/sub-<id>/ses-1/sub-<id>_preproc-quasiraw_T1w.npy\nparticipants.tsv",
        discover=_discover,
    ),
)
