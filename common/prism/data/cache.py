"""Array cache of preprocessed volumes, memory-mapped so that a random crop reads only the crop.

Resampling to 1 mm dominates the cost of a pretraining sample (see docs/data.md), and a .nii.gz must be
decompressed whole even for a 96^3 crop. The cache runs the deterministic preprocessing
(:func:`prism.transforms.preprocessing_transforms`: load, check, RAS, 1 mm, normalise) once per volume and
stores the result as ``.npy`` (float16 by default) plus a ``.json`` with the affine and provenance.
:class:`CachedVolumeDataset` opens the arrays with ``np.load(mmap_mode="r")``; :class:`prism.transforms.RandCropPadd`
slices them before copying.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from monai.transforms import apply_transform
from torch.utils.data import Dataset

from prism.data.datalist import load_datalist, write_datalist

__all__ = ["build_cache", "cache_datalist", "CachedVolumeDataset", "CACHE_DTYPES"]

CACHE_DTYPES: tuple[str, ...] = ("float16", "float32", "int16")


def _entry_name(source: Path, pixdim: float, normalise: bool, dtype: str) -> str:
    stat = source.stat()
    token = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{pixdim}|{normalise}|{dtype}"
    stem = source.name.split(".")[0]
    return f"{stem}_{hashlib.sha1(token.encode()).hexdigest()[:12]}"


def build_cache(
    records: Sequence[dict[str, Any]],
    cache_dir: str | Path,
    *,
    pixdim: float = 1.0,
    normalise: bool = True,
    dtype: str = "float16",
    key: str = "image",
) -> list[dict[str, Any]]:
    """Preprocess each record's volume once and store it as a memory-mappable array.

    An entry is reused when the source file (path, size, modification time) and the options are unchanged.

    Args:
        records: datalist records with a NIfTI path under ``key``.
        cache_dir: folder for the ``.npy``/``.json`` pairs.
        pixdim: voxel size in mm of the stored volumes.
        normalise: store percentile-normalised intensities (then float16 keeps 3 significant digits).
        dtype: one of :data:`CACHE_DTYPES`; ``int16`` rounds, so use it with ``normalise=False`` only.
        key: record key of the image path.

    Returns:
        the records with ``key`` pointing to the ``.npy`` and ``source`` to the original NIfTI.

    Raises:
        ValueError: for an unknown dtype, or (naming the file) a volume the preprocessing rejects.
    """
    from prism.transforms.pipelines import preprocessing_transforms

    if dtype not in CACHE_DTYPES:
        raise ValueError(f"dtype must be one of {CACHE_DTYPES}, got {dtype!r}.")
    folder = Path(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    preprocess = preprocessing_transforms(key, pixdim, normalise)
    cached = []
    for record in records:
        source = Path(record[key])
        name = _entry_name(source, pixdim, normalise, dtype)
        array_path, meta_path = folder / f"{name}.npy", folder / f"{name}.json"
        if not (array_path.is_file() and meta_path.is_file()):
            image = apply_transform(preprocess, {key: str(source)})[key]
            array = image.numpy().astype(dtype)
            tmp = folder / f".{name}.tmp.npy"
            np.save(tmp, array)
            os.replace(tmp, array_path)
            meta = {
                "source": str(source.resolve()),
                "affine": np.asarray(image.affine, dtype=np.float64).tolist(),
                "shape": list(array.shape),
                "dtype": dtype,
                "pixdim": pixdim,
                "normalised": normalise,
            }
            meta_path.write_text(json.dumps(meta, indent=1) + "\n")
        entry = dict(record)
        entry[key] = str(array_path)
        entry["source"] = str(source)
        cached.append(entry)
    return cached


def cache_datalist(
    datalist: str | Path, out: str | Path, cache_dir: str | Path, **options: Any
) -> Path:
    """Cache every split of a datalist and write a datalist of the cached arrays (same records + ``source``).

    Args:
        datalist: a datalist written by ``prism corpus``.
        out: the new datalist JSON.
        cache_dir: cache folder.
        options: keyword arguments of :func:`build_cache`.
    """
    payload = json.loads(Path(datalist).read_text())
    split = {name: build_cache(load_datalist(datalist, name), cache_dir, **options) for name in payload}
    return write_datalist(split, out)


class CachedVolumeDataset(Dataset):
    """Dataset over cached records: ``key`` is a read-only ``np.memmap`` of shape (C, X, Y, Z).

    Pair it with :class:`prism.transforms.RandCropPadd` first in ``transform`` so that only the crop is read
    (:func:`prism.transforms.cached_pretraining_transforms` does). The stored affine is in ``affine``
    (float64 array 4x4).

    Args:
        data: records from :func:`build_cache` (or a cached datalist).
        transform: callable applied to each record dict (MONAI transforms or Compose).
        key: record key of the ``.npy`` path.
    """

    def __init__(
        self, data: Sequence[dict[str, Any]], transform: Callable | None = None, key: str = "image"
    ) -> None:
        self.data = list(data)
        self.transform = transform
        self.key = key

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = dict(self.data[index])
        path = Path(record[self.key])
        try:
            record[self.key] = np.load(path, mmap_mode="r")
            meta = json.loads(path.with_suffix(".json").read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: unreadable cache entry ({error}); rebuild the cache.") from error
        record["affine"] = np.asarray(meta["affine"], dtype=np.float64)
        return apply_transform(self.transform, record) if self.transform is not None else record
