"""The "tested with" versions in the bundles' metadata are the ones this environment (CI's) runs, not typed by hand:
``tools/tested_versions.json`` must match the installed packages, and every bundle must say what that file says."""

from __future__ import annotations

import json
from pathlib import Path

import tested_versions

REPO = Path(__file__).resolve().parents[1]


def test_the_tested_versions_file_is_this_environment():
    assert tested_versions.version_differences() == [], "run `python tools/tested_versions.py` and regenerate"


def test_every_bundle_says_it_was_tested_with_these_versions():
    tested = json.loads((REPO / "tools" / "tested_versions.json").read_text())
    wrong = []
    for meta_file in sorted(REPO.glob("bundles/*/configs/metadata.json")):
        meta = json.loads(meta_file.read_text())
        for field, name in (("monai_version", "monai"), ("pytorch_version", "torch"), ("numpy_version", "numpy")):
            if meta.get(field) != tested[name]:
                wrong.append(f"{meta_file.parent.parent.name}: {field} {meta.get(field)}, tested {tested[name]}")
        for package, version in meta.get("required_packages_version", {}).items():
            if package in tested["packages"] and version != tested["packages"][package]:
                wrong.append(f"{meta_file.parent.parent.name}: {package} {version}, tested {tested['packages'][package]}")
    assert wrong == []
