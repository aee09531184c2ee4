"""The LONI Image and Data Archive download shared by ADNI and PPMI: image folders plus a collection CSV.

An IDA "Advanced Download" unpacks as::

    ADNI/002_S_0295/MPRAGE/2006-04-18_08_20_30.0/I13722/ADNI_002_S_0295_MR_MPRAGE_br_raw_..._I13722.dcm
    ADNI/002_S_0295/MPRAGE/2006-04-18_08_20_30.0/I13722/... .nii         (when NIfTI was requested)
    <collection>_<date>.csv    Image Data ID, Subject, Group, Sex, Age, Visit, Modality, Description, Acq Date, ...

The image id folder (``I13722``) joins an image to its row of the collection CSV. DICOM series become NIfTI
(RAS); NIfTI files are referenced in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from prism.data.convert.core import CaseSkip, Conversion
from prism.data.convert.files import ConversionError
from prism.data.convert.tables import Table, read_table

__all__ = ["LoniImage", "loni_images", "parse_date"]


@dataclass(frozen=True)
class LoniImage:
    """One image of the collection: its folder, id, subject, acquisition date and collection-CSV row."""

    folder: Path
    image_id: str
    subject: str
    acquired: date | None
    row: dict[str, str]
    table: Table


def parse_date(text: str) -> date | None:
    """``"4/18/2006"``, ``"2006-04-18"`` or ``"2006-04-18_08_20_30.0"`` -> a date (None when empty or unreadable)."""
    text = text.strip()
    for pattern in ("%m/%d/%Y", "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"):
        try:
            return datetime.strptime(text[:10] if "-" in text[:10] else text, pattern).date()
        except ValueError:
            continue
    return None


def _collection(run: Conversion) -> Table:
    for path in run.glob("*.csv"):
        table = read_table(path)
        if table.column("Image Data ID", required=False) and table.column("Subject", required=False):
            return table
    raise ConversionError(
        f"{run.source}: no LONI collection CSV (a .csv with 'Image Data ID' and 'Subject' columns) next to the images."
    )


def loni_images(run: Conversion, project: str) -> list[LoniImage]:
    """Every image of a LONI download under ``SOURCE/<project>/`` that its collection CSV describes."""
    table = _collection(run)
    image_id, subject, acquired = table.column("Image Data ID"), table.column("Subject"), table.column("Acq Date")
    rows = {row[image_id].strip(): row for row in table.rows}
    images = []
    folders = sorted({p.parent for p in run.glob(f"{project}/*/*/*/*/*")})
    for folder in folders:
        # the CSV writes image ids with or without the folder's "I" prefix
        row = rows.get(folder.name) or rows.get(folder.name.removeprefix("I")) or rows.get(f"I{folder.name}")
        if row is None:
            run.skip(folder.name, "not in the collection CSV")
            continue
        images.append(LoniImage(folder, folder.name, row[subject].strip(), parse_date(row[acquired]), row, table))
    return images


def image_file(run: Conversion, image: LoniImage, case: str, key: str) -> str:
    """Datalist path of a LONI image: a NIfTI in place, or its DICOM series converted."""
    nifti = run.glob("*.nii*", image.folder)
    if len(nifti) == 1:
        return run.link(nifti[0])
    if nifti:
        raise CaseSkip(f"{len(nifti)} NIfTI files in {image.folder.name}")
    return run.dicom_series(run.glob("*", image.folder), case, key)
