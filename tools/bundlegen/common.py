"""What every family's bundles share: the template environment and the metadata fields that do not depend on the
family (``bundlegen.packaging`` then fills in what derives from the configs)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jinja2
import yaml

from prism.tasks import Task

__all__ = [
    "SCHEMA_URL",
    "TEMPLATES_DIR",
    "base_metadata",
    "check_yaml",
    "common_files",
    "environment",
    "references",
    "yaml_to_json",
]

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates"
SCHEMA_URL = "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/meta_schema_20240725.json"

_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _flow_list(value) -> str:
    """A YAML flow list; plain identifiers stay unquoted, as in hand-written MONAI configs."""
    items = []
    for item in value:
        if isinstance(item, str) and not (_BARE.match(item) and item.lower() not in _YAML_WORDS):
            items.append(json.dumps(item))
        else:
            items.append(str(item))
    return "[" + ", ".join(items) + "]"


def _is_identity(mapping: dict[int, int]) -> bool:
    return all(int(k) == int(v) for k, v in mapping.items())


def environment() -> jinja2.Environment:
    """Jinja environment over ``tools/templates`` (strict: an undefined name is an error, not an empty string)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["j"] = _flow_list
    env.filters["rstrip"] = str.rstrip
    env.filters["is_identity"] = _is_identity
    return env


def base_metadata(task: Task, version: str, changelog: dict[str, str]) -> dict[str, Any]:
    """The ``metadata.json`` fields every family fills the same way (the family adds name, task, formats)."""
    return {
        "schema": SCHEMA_URL,
        "version": version,
        "changelog": changelog,
        # Tested versions (tools/tested_versions.json) and the packages the configs need: bundlegen.packaging.finish.
        "monai_version": "",
        "pytorch_version": "",
        "numpy_version": "",
        "required_packages_version": {},
        "supported_apps": {},
        "authors": "PRISM bundles contributors",
        "copyright": "Copyright (c) PRISM bundles contributors",
        "data_source": task.data_source or "see references",
        "data_type": "nifti or dicom",
        "intended_use": "Research only, not for diagnostic use. "
        + f"Data license: {task.data_license or 'see the data provider'}.",
    }


def references(task: Task, *extra: str) -> list[str]:
    """The bundle's references: the PRISM paper, the family's method papers, the dataset."""
    return [
        "Qiu et al., Large-scale Multi-sequence Pretraining for Generalizable MRI Analysis in Versatile "
        "Clinical Applications (PRISM)",
        *extra,
        *([task.reference] if task.reference else []),
    ]


def common_files() -> dict[str, str]:
    """Files every bundle carries unchanged: the licence and MONAI's logging configuration."""
    return {
        "configs/logging.conf": (TEMPLATES_DIR / "common" / "logging.conf").read_text(),
        "LICENSE": (TEMPLATES_DIR / "common" / "LICENSE").read_text(),
    }


def yaml_to_json(yaml_text: str) -> str:
    """A config rendered from a YAML template, written as JSON.

    Inference configs are JSON only: MONAI Label reads ``inference.json`` before ``inference.yaml`` and
    ``monai.bundle.load`` reads JSON only, so a YAML twin would be a second copy whose edits are silently ignored.
    """
    return json.dumps(yaml.safe_load(yaml_text), indent=4) + "\n"


def check_yaml(files: dict[str, str]) -> None:
    """Parse every YAML file: a template change that breaks YAML fails at generation, not in a user's run."""
    for path, text in files.items():
        if path.endswith(".yaml"):
            yaml.safe_load(text)
