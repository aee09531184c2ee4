"""Finding files in a download as it unpacks, and keeping the output folder honest.

Archives packed on macOS carry AppleDouble companions (``._BraTS2021_00000_t1.nii.gz``: resource forks, not
images) and ``__MACOSX/`` folders; MSD's tarballs are the best-known case. They are never images, so every
listing here leaves them (and other hidden files) out and counts them, for the conversion report.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["ConversionError", "is_ignorable", "list_files", "prepare_output", "relative_inside"]

# Names that are never data, whatever the dataset.
_IGNORED_NAMES = {"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}


class ConversionError(ValueError):
    """A problem that stops a whole conversion (wrong folder, unknown option, registry mismatch)."""


def is_ignorable(path: Path, root: Path) -> bool:
    """True for AppleDouble files, hidden files and anything inside ``__MACOSX`` or a hidden folder under ``root``."""
    for part in path.relative_to(root).parts:
        if part in _IGNORED_NAMES or part.startswith("."):
            return True
    return False


def list_files(root: Path, pattern: str, ignored: list[Path] | None = None) -> list[Path]:
    """Files under ``root`` matching the glob ``pattern`` (``**`` recurses), sorted, ignorable ones left out.

    Args:
        root: folder to search.
        pattern: glob relative to ``root``, e.g. ``"imagesTr/*.nii.gz"`` or ``"**/*.dcm"``.
        ignored: when given, ignorable matches are appended to it (so the report can count them).
    """
    found = []
    for path in sorted(root.glob(pattern)):
        if is_ignorable(path, root):
            if ignored is not None and path.is_file():
                ignored.append(path)
            continue
        if path.is_file():
            found.append(path)
    return found


def relative_inside(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX separators), refusing paths that leave ``root``.

    Raises:
        ConversionError: when ``path`` is not inside ``root`` (``..`` components or an absolute path elsewhere).
    """
    absolute = Path(os.path.abspath(path))
    base = Path(os.path.abspath(root))
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        raise ConversionError(
            f"{path} is not inside {root}: converters only reference files of the download."
        ) from None


def _conversion_outputs(out: Path) -> list[Path]:
    """What an earlier conversion wrote into ``out`` (from its report), for ``overwrite``."""
    import json

    report = out / "conversion_report.json"
    try:
        payload = json.loads(report.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ConversionError(f"{report}: cannot read the earlier conversion report ({error}).") from error
    names = payload.get("outputs", [])
    bad = [n for n in names if not isinstance(n, str) or not n or "/" in n or "\\" in n or n in (".", "..")]
    if bad:
        raise ConversionError(f"{report}: outputs {bad} are not plain names in {out}; refusing to remove them.")
    return [out / name for name in names] + [report]


def prepare_output(out: Path, source: Path, overwrite: bool, owned: Iterable[str]) -> None:
    """Make ``out`` ready for a conversion: never inside the download, never silently over other files.

    An empty or missing folder is used as is. A folder holding an earlier conversion (its
    ``conversion_report.json``) is cleared of exactly what that conversion wrote when ``overwrite`` is set.
    Anything else is refused.

    Args:
        out: the dataset folder to write.
        source: the download (read only).
        overwrite: replace an earlier conversion in ``out``.
        owned: top-level names a conversion writes (for the error message).

    Raises:
        ConversionError: for ``out`` inside ``source`` (or the reverse), a non-empty folder that holds no
            conversion, or an earlier conversion without ``overwrite``.
    """
    out_abs, source_abs = out.resolve(), source.resolve()
    if out_abs == source_abs or source_abs in out_abs.parents:
        raise ConversionError(f"--out {out} is inside the download {source}: the download is never written to.")
    if out_abs in source_abs.parents:
        raise ConversionError(f"the download {source} is inside --out {out}: give an output folder of its own.")
    if not out.exists():
        return
    if not out.is_dir():
        raise ConversionError(f"--out {out} exists and is not a folder.")
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return
    if "conversion_report.json" not in entries:
        raise ConversionError(
            f"--out {out} is not empty and holds no earlier conversion ({entries[:5]}...); a conversion writes "
            f"{sorted(owned)} there. Give an empty or new folder."
        )
    if not overwrite:
        raise ConversionError(
            f"--out {out} already holds a conversion (conversion_report.json); pass --overwrite to replace it."
        )
    for path in _conversion_outputs(out):
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            _remove_tree(path)


def _remove_tree(folder: Path) -> None:
    """Remove a folder the earlier conversion wrote (files and sub-folders; links are removed, never followed)."""
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            _remove_tree(child)
        else:
            child.unlink()
    folder.rmdir()
