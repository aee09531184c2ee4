"""SPIDER (task 18): lumbar spine vertebrae, intervertebral discs and spinal canal on sagittal MRI.

Release: Zenodo record 10159290 (``images.zip``, ``masks.zip``, ``overview.csv``), MetaImage as shipped::

    images/1_t1.mha, images/1_t2.mha, images/1_t2_SPACE.mha      patient 1's three series
    masks/1_t2.mha                                               vertebrae 1-25, canal 100, discs 201-225
    overview.csv                                                 one row per series; its subset column (if any)
                                                                 gives the official split

``.mha`` is read by MONAI's ``LoadImaged`` through ITK with the same RAS affine as here (tested), so files are
referenced in place. ``--sequence t2`` (default; the registry's T2) or ``t2_SPACE`` / ``t1`` picks the series.
The patient is the subject.
"""

from __future__ import annotations

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.layout import stem
from prism.data.convert.tables import read_table

__all__ = ["SPECS"]

_SPLIT = {"training": None, "train": None, "validation": "validation", "val": "validation", "test": "test"}


def _official_splits(run: Conversion) -> dict[str, str | None]:
    overview = run.source / "overview.csv"
    if not overview.is_file():
        run.note("no overview.csv: validation subjects drawn by seed.")
        return {}
    table = read_table(overview)
    subset = table.column("subset", "split", required=False)
    if subset is None:
        return {}
    names = table.values("new_file_name", "file_name", "filename")
    return {name: _SPLIT.get(row.get(subset, "").strip().lower()) for name, row in zip(names, table.rows)}


def _discover(run: Conversion) -> None:
    sequence = run.options["sequence"]
    splits = _official_splits(run)
    for image in run.glob(f"**/images/*_{sequence}.mha"):
        case = stem(image)
        patient = case[: -len(sequence) - 1]
        label = image.parent.parent / "masks" / image.name
        with run.attempt(case):
            run.add(
                Case(
                    case,
                    subject=patient,
                    images=run.channel_keys({run.task.channels[0]: run.link(image)}),
                    label=run.link(label) if label.exists() else None,
                    split=splits.get(case),
                )
            )


SPECS = (
    DatasetSpec(
        name="spider",
        title="SPIDER (lumbar spine)",
        tasks=("spider_spine_seg",),
        download="https://zenodo.org/records/10159290",
        release="SPIDER Zenodo 10159290 (images.zip, masks.zip, overview.csv)",
        licence="CC BY 4.0",
        citation="van der Graaf et al., Lumbar spine segmentation in MR images: a dataset and a public benchmark, "
        "Scientific Data 11:264 (2024)",
        layout="images/1_t2.mha + masks/1_t2.mha (also _t1, _t2_SPACE), overview.csv",
        discover=_discover,
        options={"sequence": ("t2", "t2_SPACE", "t1")},
        defaults={"sequence": "t2"},
    ),
)
