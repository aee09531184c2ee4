"""Find, by name, a bundle another bundle depends on: the trained source bundle whose model an external-evaluation
bundle applies zero-shot.

The config names the source bundle, not a path: bundles are searched for where the download tools put them
(next to each other: ``prism download`` and ``monai.bundle download --bundle_dir``), in ``$PRISM_BUNDLES`` and in
MONAI's default download folder, so an external bundle runs wherever the two were put, and
``--source_bundle PATH`` still chooses one explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BUNDLES_ENV", "bundle_search_path", "find_bundle"]

BUNDLES_ENV = "PRISM_BUNDLES"


def _monai_download_dir() -> Path:
    """Where ``python -m monai.bundle download`` puts bundles without ``--bundle_dir``."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "bundle"


def bundle_search_path(near: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for bundles, in order: ``$PRISM_BUNDLES`` (``os.pathsep``-separated), the folder holding
    the bundle at ``near``, MONAI's default download folder."""
    folders = [Path(p) for p in os.environ.get(BUNDLES_ENV, "").split(os.pathsep) if p]
    if near is not None:
        folders.append(Path(near).resolve().parent)
    folders.append(_monai_download_dir())
    unique: list[Path] = []
    for folder in folders:
        if folder not in unique:
            unique.append(folder)
    return unique


def find_bundle(name: str, near: str | os.PathLike | None = None) -> str:
    """The folder of bundle ``name`` (one with ``configs/metadata.json``), searched in :func:`bundle_search_path`.

    Args:
        name: the bundle's folder name, e.g. ``prism_amos_abdomen_seg``.
        near: the bundle that needs it (its ``bundle_root``): its neighbours are searched.

    Raises:
        ValueError: ``name`` is empty or not a plain folder name.
        FileNotFoundError: no such bundle in any searched folder; the message lists them and how to get it.
    """
    if not name or Path(name).name != name:
        raise ValueError(f"find_bundle: expected a bundle folder name, got {name!r}.")
    searched = bundle_search_path(near)
    for folder in searched:
        candidate = folder / name
        if (candidate / "configs" / "metadata.json").is_file():
            return str(candidate)
    raise FileNotFoundError(
        f"Bundle {name} not found in: {', '.join(str(f) for f in searched)}. Get it with `prism download {name} "
        f"--index <index> --out <folder>` (`prism download` of a bundle that needs it fetches it too) into the "
        f"folder holding this bundle, or name its folder in ${BUNDLES_ENV}, or pass its path (--source_bundle PATH)."
    )
