"""Which ``prism`` code this process runs, and the check that keeps a released bundle from silently running
another bundle's.

A released bundle carries the part of ``prism`` its configs use in its own folder (``<bundle>/prism/``, with a
manifest ``prism/runtime_manifest.json`` listing the sha256 of every carried file; ``prism release`` writes it).
``monai.bundle run`` and MONAI Label put the bundle folder on ``sys.path`` while they build its components, so the
first bundle's ``prism`` is imported, and Python keeps it: a second bundle in the same process (MONAI Label
serving two bundles, a script running two workflows, or an installed ``prism-bundles`` imported first) gets the
code already in ``sys.modules``, not its own. :func:`check_runtime` turns that into an error when the two differ:
every carried runtime on ``sys.path`` must hold the same files as the ``prism`` that was imported. The packages
whose names the configs use (``prism.bundle``, ``prism.networks``) serve their names through
:func:`guarded_exports`, so the check runs at every ``_target_`` lookup, whoever builds the component.

This module imports nothing but the standard library (it is part of the bottom layer).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["MANIFEST_NAME", "RuntimeConflictError", "check_runtime", "file_sha256", "guarded_exports", "loaded_root"]

MANIFEST_NAME = "runtime_manifest.json"
_BUFFER = 1 << 20
_LOADED_HASHES: dict[str, str | None] = {}
_VERDICTS: dict[tuple[str, int, int], list[str]] = {}


class RuntimeConflictError(ImportError):
    """A bundle's carried ``prism`` differs from the ``prism`` this process already imported."""


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BUFFER), b""):
            digest.update(block)
    return digest.hexdigest()


def loaded_root() -> Path:
    """The folder of the ``prism`` package this process imported."""
    return Path(__file__).resolve().parent


def _loaded_hash(relative: str) -> str | None:
    if relative not in _LOADED_HASHES:
        path = loaded_root() / relative
        _LOADED_HASHES[relative] = file_sha256(path) if path.is_file() else None
    return _LOADED_HASHES[relative]


def _differences(manifest: Path) -> list[str]:
    """Carried files (relative to ``prism/``) whose content differs from, or is missing in, the loaded prism."""
    stat = manifest.stat()
    key = (str(manifest), stat.st_mtime_ns, stat.st_size)
    if key not in _VERDICTS:
        files = json.loads(manifest.read_text()).get("files", {})
        _VERDICTS[key] = sorted(rel for rel, digest in files.items() if _loaded_hash(rel) != digest)
    return _VERDICTS[key]


def _carried_manifests() -> list[Path]:
    found = []
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        manifest = Path(entry or os.curdir) / "prism" / MANIFEST_NAME
        if manifest.is_file():
            found.append(manifest)
    return found


def check_runtime() -> None:
    """Raise :class:`RuntimeConflictError` when a carried ``prism`` on ``sys.path`` differs from the loaded one.

    Cheap enough to run at every component lookup: one ``stat`` per ``sys.path`` entry, and the file hashes of
    each manifest compared once.
    """
    loaded = loaded_root()
    for manifest in _carried_manifests():
        carried = manifest.parent.resolve()
        if carried == loaded:
            continue
        differing = _differences(manifest)
        if differing:
            info = json.loads(manifest.read_text())
            shown = ", ".join(differing[:5]) + (f" and {len(differing) - 5} more" if len(differing) > 5 else "")
            raise RuntimeConflictError(
                f"The bundle at {carried.parent} carries its own prism code ({info.get('package', 'prism-bundles')} "
                f"{info.get('version', '?')}, {carried}), but this process already imported a different prism "
                f"from {loaded}: {shown} differ(s). One process holds one prism: run this bundle in its own "
                "process (python -m monai.bundle run from its folder), or use together only bundles of one release."
            )


def guarded_exports(namespace: MutableMapping[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for a package whose public names (its ``__all__``) are looked up by configs.

    The names are moved out of the package's namespace into a table served by ``__getattr__`` (PEP 562), so every
    lookup, ``_target_: prism.bundle.X`` included, runs :func:`check_runtime` first. The package still imports
    its submodules eagerly, so what it loads stays visible to static analysis (``prism release``).
    """
    package = namespace["__name__"]
    table = {name: namespace.pop(name) for name in namespace["__all__"] if name in namespace}

    def __getattr__(name: str) -> Any:
        check_runtime()
        if name in table:
            return table[name]
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
