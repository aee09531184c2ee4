"""The release index: which bundle versions a release folder holds, with the sha256 every download is checked
against, and the ``model_info.json`` view MONAI's model zoo keeps (``<name>_v<version>`` -> checksum, source).

``index.json``::

    {"format": "prism-bundles-index/1",
     "package": {"name": "prism-bundles", "version": "0.1.0", "wheel": "<file>", "sha256": ..., "size": ...},
     "bundles": {"<name>": {"<version>": {"file": "<name>_v<version>.zip", "sha256": ..., "size": ..., "task": ...,
                                          "monai_version": ..., "pytorch_version": ..., "numpy_version": ...,
                                          "required_packages_version": {...}, "carried_packages_version": {...},
                                          "runtime": {...}, "source_bundles": {"<name>": "<version>"}}}}}

File names are relative to the index (a release folder can be served from anywhere). Versions are ordered as
numbers (0.10.0 after 0.9.0), unlike MONAI's "latest", which sorts strings.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "empty_index", "latest_version", "model_info", "read_index", "version_key", "write_json"]

FORMAT = "prism-bundles-index/1"
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def version_key(version: str) -> tuple[int, int, int]:
    """``"0.10.0"`` -> ``(0, 10, 0)``.

    Raises:
        ValueError: not MAJOR.MINOR.PATCH.
    """
    match = _VERSION.match(version)
    if not match:
        raise ValueError(f"version {version!r} is not MAJOR.MINOR.PATCH.")
    return tuple(int(x) for x in match.groups())  # type: ignore[return-value]


def latest_version(versions: Mapping[str, Any]) -> str:
    """The highest of ``versions`` (keys), compared as numbers."""
    return max(versions, key=version_key)


def empty_index() -> dict[str, Any]:
    return {"format": FORMAT, "package": {}, "bundles": {}}


def read_index(text: str | bytes, where: str) -> dict[str, Any]:
    """Parse and check an index.

    Raises:
        ValueError: not JSON, or not an index of this format (the message names ``where``).
    """
    try:
        index = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not a JSON index ({err}).") from err
    if not isinstance(index, dict) or index.get("format") != FORMAT or not isinstance(index.get("bundles"), dict):
        raise ValueError(f"{where}: not a prism bundles index (expected \"format\": {FORMAT!r}).")
    return index


def model_info(index: Mapping[str, Any], base_url: str | None = None) -> dict[str, dict[str, str]]:
    """The model-zoo ``model_info.json`` view: ``<name>_v<version>`` -> ``{"checksum": sha256, "source": URL}``
    (``source`` relative to the index unless ``base_url`` is given)."""
    prefix = base_url.rstrip("/") + "/" if base_url else ""
    return {
        f"{name}_v{version}": {"checksum": entry["sha256"], "source": prefix + entry["file"]}
        for name, versions in sorted(index["bundles"].items())
        for version, entry in sorted(versions.items(), key=lambda kv: version_key(kv[0]))
    }


def write_json(path: str | Path, content: Any) -> None:
    """Write ``content`` as sorted, indented JSON (the same content gives the same bytes), replacing the file in
    one rename so that a reader never sees half of it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
