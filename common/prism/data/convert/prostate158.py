"""Prostate158 (tasks 14 and 24): biparametric 3 T prostate MRI with zone and tumour labels.

Release: Zenodo 6481141 (``prostate158_train.zip``) and 6592345 (``prostate158_test.zip``), unpacked side by
side; the CSV files name every case's files (the dataset authors' code reads them the same way)::

    prostate158_train/train.csv, valid.csv     columns ID, t2, adc, dwi, t2_anatomy_reader1, adc_tumor_reader1
    prostate158_train/train/020/t2.nii.gz, adc.nii.gz, dwi.nii.gz, t2_anatomy_reader1.nii.gz, adc_tumor_reader1.nii.gz
    prostate158_test/test.csv, prostate158_test/test/...   (reader2 columns too)

Lists: train.csv -> training, valid.csv -> validation, test.csv -> test (the official split). The gland task
(external) reads ``t2`` and ``t2_anatomy_reader1`` (1 transition, 2 peripheral zone: both the prostate); the
lesion task ``t2``/``adc``/``dwi`` and ``adc_tumor_reader1``; a case without a tumour file is skipped there.
"""

from __future__ import annotations

from pathlib import Path

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec

__all__ = ["SPECS"]

_LISTS = {"train.csv": None, "valid.csv": "validation", "test.csv": "test"}
# registry channel -> CSV column
_COLUMNS = {"T2": "t2", "ADC": "adc", "DWI": "dwi"}


def _discover(run: Conversion) -> None:
    from prism.data.convert.tables import read_table

    lesion = run.task.name == "prostate158_lesion_seg"
    label_column = "adc_tumor_reader1" if lesion else "t2_anatomy_reader1"
    tables = [p for p in run.glob("**/*.csv") if p.name in _LISTS]
    for csv in tables:
        table = read_table(csv)
        for row in table.rows:
            case = row[table.column("ID", "id")].strip().zfill(3)
            with run.attempt(case):
                base: Path = csv.parent
                files = {channel: run.link(base / row[table.column(column)]) for channel, column in _COLUMNS.items()}
                label_name = row.get(table.column(label_column, required=False) or "", "").strip()
                if not label_name:
                    raise CaseSkip(f"no {label_column} file listed")
                images = {c: files[c] for c in run.task.channels if c in files}
                run.add(
                    Case(
                        case,
                        subject=case,
                        images=run.channel_keys(images),
                        label=run.link(base / label_name),
                        split=_LISTS[csv.name],
                    )
                )


SPECS = (
    DatasetSpec(
        name="prostate158",
        title="Prostate158",
        tasks=("prostate158_lesion_seg", "prostate158_gland_seg"),
        download="https://zenodo.org/records/6481141",
        release="prostate158_train.zip (Zenodo 6481141) + prostate158_test.zip (Zenodo 6592345)",
        licence="CC BY 4.0",
        citation="Adams et al., Prostate158 - an expert-annotated 3T MRI dataset and algorithm for prostate cancer "
        "detection, Computers in Biology and Medicine 148:105817 (2022)",
        layout="prostate158_train/train.csv, valid.csv,\n"
        "prostate158_train/train/020/{t2,adc,dwi,t2_anatomy_reader1,adc_tumor_reader1}.nii.gz\n"
        "prostate158_test/test.csv, test/...",
        discover=_discover,
    ),
)
