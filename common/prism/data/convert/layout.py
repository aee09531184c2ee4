"""Small helpers the dataset modules share: file stems, locating the release folder inside SOURCE, and the
Medical Segmentation Decathlon layout (``dataset.json`` + ``imagesTr``/``labelsTr``/``imagesTs``) that MSD,
AMOS and nnU-Net-style releases use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from prism.data.convert.files import ConversionError, is_ignorable

__all__ = ["decathlon_entries", "find_root", "paired_folders", "read_json", "stem"]

_SUFFIXES = (".nii.gz", ".seg.nrrd", ".nii", ".mha", ".mhd", ".nrrd", ".npy", ".png", ".dcm", ".h5", ".img", ".hdr")


def stem(path: Path | str) -> str:
    """``"BraTS2021_00000_t1.nii.gz"`` -> ``"BraTS2021_00000_t1"`` (the known double suffixes included)."""
    name = Path(path).name
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


def find_root(source: Path, marker: str, layout: str) -> Path:
    """The folder holding ``marker`` (a file or folder name or glob): SOURCE itself or one below it.

    Publishers' archives unpack with or without a top folder (``Task05_Prostate/``, ``amos22/``), so both are
    accepted; two candidates are an error rather than a guess.

    Raises:
        ConversionError: when no folder or several folders hold ``marker``.
    """
    if list(source.glob(marker)):
        return source
    found = sorted({p.parent for p in source.glob(f"*/{marker}") if not is_ignorable(p, source)})
    if len(found) == 1:
        return found[0]
    if not found:
        raise ConversionError(f"{source}: no {marker} here or one folder below. Expected layout:\n{layout}")
    raise ConversionError(f"{source}: several folders hold {marker} ({[str(f) for f in found]}); point SOURCE at one.")


def read_json(path: Path) -> object:
    """A JSON file's content.

    Raises:
        ConversionError: naming the file when it is missing or not valid JSON.
    """
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, json.JSONDecodeError) as error:
        raise ConversionError(f"{path}: cannot read the JSON file ({error}).") from error


def decathlon_entries(root: Path, lists: Iterable[str]) -> list[tuple[str, Path, Path | None]]:
    """``(list name, image, label or None)`` for the named lists of a decathlon ``dataset.json``.

    ``training``/``validation`` entries are ``{"image": ..., "label": ...}`` dicts; ``test`` entries are
    bare paths (MSD) or dicts without a label (AMOS). Paths are relative to ``root``.

    Raises:
        ConversionError: for a missing ``dataset.json`` or an entry of another form.
    """
    payload = read_json(root / "dataset.json")
    if not isinstance(payload, dict):
        raise ConversionError(f"{root / 'dataset.json'}: not a decathlon dataset.json (no lists).")
    entries = []
    for name in lists:
        for item in payload.get(name, []) or []:
            if isinstance(item, str):
                entries.append((name, root / item, None))
            elif isinstance(item, dict) and "image" in item:
                label = item.get("label")
                entries.append((name, root / item["image"], root / label if label else None))
            else:
                raise ConversionError(f"{root / 'dataset.json'}: {name} entry {item!r} has no image.")
    return entries


def paired_folders(
    images: list[Path], labels_dir: Path, image_prefix: str = "", label_prefix: str = ""
) -> list[tuple[str, Path, Path | None]]:
    """``(case, image, label or None)`` for images paired by name with ``labels_dir``.

    The nnU-Net channel suffix ``_0000`` is dropped (``oaizib_001_0000.nii.gz`` pairs with ``oaizib_001.nii.gz``);
    a name prefix can differ between the two folders (ATLAS: ``im12`` pairs with ``lb12``).
    """
    pairs = []
    for image in images:
        case = stem(image)
        if case.endswith("_0000"):
            case = case[: -len("_0000")]
        key = case[len(image_prefix) :] if image_prefix and case.startswith(image_prefix) else case
        candidates = [labels_dir / f"{label_prefix}{key}{s}" for s in (".nii.gz", ".nii", ".mha")]
        label = next((c for c in candidates if c.is_file()), None)
        pairs.append((case, image, label))
    return pairs
