"""Spreadsheets as publishers ship them: CSV, TSV, pipe- or semicolon-separated text, and Excel ``.xlsx``.

Headers drift between releases ("Subject ID", "subject_id", "SubjectID "), so columns are found by a
normalised name (lower case, letters and digits only) among a few aliases, and a missing column is an error
that lists the columns the file has. ``.xlsx`` needs openpyxl (the ``convert`` extra); legacy ``.xls`` is
refused with a message saying how to proceed, rather than read wrongly.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prism.data.convert.files import ConversionError

__all__ = ["Table", "normalise_header", "read_rows", "read_table"]

_DELIMITERS = ",;\t|"


def normalise_header(name: object) -> str:
    """``" Subject ID\\ufeff"`` -> ``"subjectid"``: the key headers are matched by."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


@dataclass(frozen=True)
class Table:
    """Rows of a spreadsheet keyed by its header, with the file it came from (for messages)."""

    path: Path
    header: tuple[str, ...]
    rows: tuple[dict[str, str], ...]

    def column(self, *aliases: str, required: bool = True) -> str | None:
        """The header of the first column whose normalised name is one of ``aliases``.

        Raises:
            ConversionError: when ``required`` and no column matches (naming the file and its columns).
        """
        by_key = {normalise_header(h): h for h in self.header}
        for alias in aliases:
            if normalise_header(alias) in by_key:
                return by_key[normalise_header(alias)]
        if required:
            raise ConversionError(
                f"{self.path}: no column {aliases[0]!r} (looked for {', '.join(aliases)}); "
                f"the file has columns {list(self.header)}."
            )
        return None

    def values(self, *aliases: str) -> list[str]:
        """One column's values, in row order."""
        name = self.column(*aliases)
        return [row.get(name, "") for row in self.rows]


def _sniff(lines: Sequence[str]) -> str:
    """The delimiter that splits the header line most evenly with the next lines."""
    best, best_score = ",", -1
    for delimiter in _DELIMITERS:
        counts = [len(next(csv.reader([line], delimiter=delimiter))) for line in lines if line.strip()]
        if not counts or counts[0] < 2:
            continue
        score = counts[0] * 10 - sum(abs(c - counts[0]) for c in counts)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _text_rows(path: Path, delimiter: str | None) -> list[list[str]]:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    lines = text.splitlines()
    if delimiter is None:
        delimiter = _sniff(lines[:20])
    return [
        [cell.strip() for cell in row] for row in csv.reader(lines, delimiter=delimiter) if any(c.strip() for c in row)
    ]


def _excel_rows(path: Path, sheet: str | None) -> list[list[str]]:
    try:
        import openpyxl
    except ImportError as error:
        raise ConversionError(
            f"{path}: reading .xlsx needs openpyxl: pip install 'prism-bundles[convert]' (or pip install openpyxl)."
        ) from error
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ConversionError(f"{path}: no sheet {sheet!r}; sheets: {book.sheetnames}.")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        rows = []
        for row in worksheet.iter_rows(values_only=True):
            cells = ["" if v is None else _cell_text(v) for v in row]
            if any(cells):
                rows.append(cells)
        return rows
    finally:
        book.close()


def _cell_text(value: object) -> str:
    """Excel numbers come back as floats: 12.0 -> "12", so ids and grades compare as text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_rows(path: str | Path, delimiter: str | None = None, sheet: str | None = None) -> list[list[str]]:
    """All non-empty rows of a spreadsheet as lists of text cells (for files without a header row).

    Raises:
        ConversionError: for a missing file, legacy ``.xls``, or ``.xlsx`` without openpyxl.
    """
    source = Path(path)
    if not source.is_file():
        raise ConversionError(f"{source}: spreadsheet not found.")
    suffix = source.suffix.lower()
    if suffix == ".xls":
        raise ConversionError(f"{source}: legacy Excel .xls is not read; save it as .xlsx or .csv first.")
    if suffix in (".xlsx", ".xlsm"):
        return _excel_rows(source, sheet)
    return _text_rows(source, delimiter)


def read_table(path: str | Path, delimiter: str | None = None, sheet: str | None = None) -> Table:
    """A spreadsheet whose first non-empty row is its header; short rows are padded with empty cells.

    Raises:
        ConversionError: for an empty file, duplicate headers, or what :func:`read_rows` refuses.
    """
    source = Path(path)
    rows = read_rows(source, delimiter=delimiter, sheet=sheet)
    if not rows:
        raise ConversionError(f"{source}: the spreadsheet is empty.")
    header = tuple(h.strip() for h in rows[0])
    keys = [normalise_header(h) for h in header if h]
    if len(set(keys)) != len(keys):
        raise ConversionError(f"{source}: duplicate column names in the header {list(header)}.")
    records = tuple({h: (row[i] if i < len(row) else "") for i, h in enumerate(header) if h} for row in rows[1:])
    return Table(path=source, header=tuple(h for h in header if h), rows=records)
