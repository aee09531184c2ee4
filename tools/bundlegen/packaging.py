"""What every generated bundle derives from its own configs, whatever its family: the packages it needs (from the
import closure of the prism code its configs name, ``prism.release.closure``), the versions they were tested
with, the version of the shared code it carries, and ``large_files.yml`` (the weights it can use).

The tested versions live in ``tools/tested_versions.json``, not in the environment that renders the bundles, so
the output does not depend on the machine; ``tests/test_tested_versions.py`` fails when they differ from the
environment the tests (CI) run in, and ``python tools/tested_versions.py`` rewrites them from it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from prism.release.closure import CONFIG_SUFFIXES, SHARED_PACKAGE, bundle_closure

__all__ = ["TESTED_VERSIONS_FILE", "finish", "large_files_yaml", "tested_versions"]

TESTED_VERSIONS_FILE = Path(__file__).resolve().parents[1] / "tested_versions.json"
_HEADER = (
    "# Weights this bundle can use, in the model-zoo format that `prism download` and",
    "# `python -m monai.bundle download_large_files` (run in the bundle folder) read.",
    "# hash_val '' means the publisher gives no hash: `prism download` prints and records the sha256 it saw",
    "# and checks later downloads against it (MONAI's download_large_files checks nothing then).",
)


def tested_versions(path: Path = TESTED_VERSIONS_FILE) -> dict[str, Any]:
    """``{"monai", "torch", "numpy": version, "packages": {canonical PyPI name: version}}`` CI ran."""
    return json.loads(Path(path).read_text())


def _configs(files: dict[str, str]) -> dict[str, Any]:
    parsed = {}
    for rel, text in files.items():
        if rel.startswith("configs/") and rel.endswith(CONFIG_SUFFIXES) and not rel.endswith("metadata.json"):
            parsed[rel] = json.loads(text) if rel.endswith(".json") else yaml.safe_load(text)
    return parsed


def large_files_yaml(configs: dict[str, Any]) -> str | None:
    """``large_files.yml`` for a bundle whose configs choose an encoder initialisation (``pretrained_source``):
    every published pretrained weight file, with the publisher's URL; None for a bundle that trains nothing."""
    from prism.bundle.pretrained import PUBLISHED_WEIGHTS

    if not any(isinstance(c, dict) and "pretrained_source" in c for c in configs.values()):
        return None
    unpublished = [
        f"# models/{w.file} (pretrained_source {source}): not published yet; made by {w.origin}."
        for source, w in PUBLISHED_WEIGHTS.items()
        if w.url is None
    ]
    lines = [*_HEADER, *unpublished, "large_files:"]
    for source, weights in PUBLISHED_WEIGHTS.items():
        path = f"models/{weights.file}"
        if weights.url is None:
            continue
        lines += [
            f"# pretrained_source {source}: {weights.origin}",
            f"- path: {path}",
            f"  url: {weights.url}",
            f"  hash_val: '{weights.sha256 or ''}'",
            "  hash_type: sha256",
        ]
    text = "\n".join(lines) + "\n"
    yaml.safe_load(text)
    return text


def finish(files: dict[str, str], versions: dict[str, Any] | None = None) -> dict[str, str]:
    """Fill ``files`` (one rendered bundle) with what derives from its configs.

    ``metadata.json`` gets the tested monai/torch/numpy versions, ``required_packages_version`` (the PyPI
    packages the carried code and the configs' MONAI components need, at their tested versions) and
    ``carried_packages_version`` (the shared package whose code a released zip carries); ``large_files.yml``
    is added when the bundle can use pretrained weights.

    Raises:
        ValueError: a needed package has no tested version in ``tools/tested_versions.json``.
    """
    import prism

    versions = versions or tested_versions()
    configs = _configs(files)
    closure = bundle_closure(configs)
    missing = [d for d in closure.distributions if d not in versions["packages"]]
    if missing:
        raise ValueError(
            f"{', '.join(missing)}: needed by the bundle's code but not in {TESTED_VERSIONS_FILE.name}; run "
            "`python tools/tested_versions.py --add {' '.join(missing)}` in the tested environment."
        )
    metadata = json.loads(files["configs/metadata.json"])
    metadata["monai_version"] = versions["monai"]
    metadata["pytorch_version"] = versions["torch"]
    metadata["numpy_version"] = versions["numpy"]
    metadata["required_packages_version"] = {d: versions["packages"][d] for d in closure.distributions}
    ordered: dict[str, Any] = {}
    for key, value in metadata.items():
        ordered[key] = value
        if key == "required_packages_version":
            ordered["carried_packages_version"] = {SHARED_PACKAGE: prism.__version__}
    out = dict(files)
    out["configs/metadata.json"] = json.dumps(ordered, indent=4) + "\n"
    large_files = large_files_yaml(configs)
    if large_files is not None:
        out["large_files.yml"] = large_files
    return out
