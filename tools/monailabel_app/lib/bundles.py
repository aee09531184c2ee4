"""Find the local PRISM segmentation bundles a MONAI Label app can serve, and read what it needs from them.

Kept free of ``monailabel`` imports so that the project's main environment (and its tests) can use it: the app
(``tools/monailabel_app/main.py``) and the check script build on these functions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "INFERENCE_CONFIGS",
    "TRAIN_CONFIGS",
    "ServableBundle",
    "bundle_parser",
    "checkpoint_target",
    "discover_bundles",
    "parse_overrides",
    "read_bundle",
    "save_untrained_weights",
]

INFERENCE_CONFIGS = ("inference.json", "inference.yaml")  # the order MONAI Label's BundleInferTask looks in
TRAIN_CONFIGS = ("train.json", "train.yaml")  # and BundleTrainTask


@dataclass
class ServableBundle:
    """What the app knows about one bundle folder.

    Attributes:
        name: folder name, used as the MONAI Label model name (``/infer/<name>``).
        path: the bundle folder.
        config_file: its inference config (``configs/inference.json`` first, as MONAI Label reads it).
        checkpoint: the weights inference loads: ``models/model.pt``, or for an external-evaluation bundle
            the source bundle's file its config names (``ckpt_path``).
        image_keys: the data keys the inference pre-processing loads; MONAI Label gives one key, ``image``.
        labels: label name -> value in the saved label map, background left out: ``post_processed_outputs`` of
            the metadata (the dataset's values, which the bundle writes by default), or ``outputs`` (channel
            indices) when the bundle has no post-processed outputs or ``output_values`` is ``channels``.
        input_channels: channel index -> sequence name the single ``image`` input must hold.
        problems: why the bundle cannot be served (empty when it can).
        train_config: its ``configs/train.(json|yaml)`` when MONAI Label can train it: the training transforms
            load ``image`` and ``label``, the keys of MONAI Label's datastore (not so for multi-sequence
            bundles, whose training datalist names each sequence, nor for external bundles, which have none).
    """

    name: str
    path: Path
    config_file: Path | None = None
    checkpoint: Path | None = None
    image_keys: list[str] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    input_channels: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    train_config: Path | None = None

    @property
    def servable(self) -> bool:
        return not self.problems


def parse_overrides(text: str | None) -> dict[str, Any]:
    """Parse the app's ``bundle_overrides`` option: a JSON object of bundle config ids -> values.

    Args:
        text: e.g. ``'{"feature_size": 12, "roi_size": [64, 64, 64]}'``; empty or None gives no overrides.

    Raises:
        ValueError: the text is not a JSON object.
    """
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"bundle_overrides: not valid JSON ({e}): {text!r}") from e
    if not isinstance(value, dict):
        raise ValueError(f"bundle_overrides: expected a JSON object of config id -> value, got {text!r}")
    return value


def bundle_parser(config_file: str | os.PathLike, bundle_root: str | os.PathLike, overrides: Mapping[str, Any]):
    """A ``ConfigParser`` of ``config_file`` with ``bundle_root`` set and ``overrides`` applied, as the app sees it."""
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(config_file))
    parser["bundle_root"] = str(bundle_root)
    for key, value in overrides.items():
        parser[key] = value
    return parser


def _load_keys(parser, transforms_id: str = "preprocessing#transforms") -> list[str]:
    """The data keys a transform list of the bundle loads from (references resolved).

    ``LoadImaged`` loads its ``keys``; ``prism.bundle.LoadSequencesd`` (multi-sequence bundles) loads a
    multi-channel file or a list of files given under its ``image_key`` (default ``image``).
    """
    transforms = parser.get(transforms_id) or []
    for i, t in enumerate(transforms):
        target = str(t.get("_target_", "")).split(".")[-1] if isinstance(t, Mapping) else ""
        if target == "LoadImaged":
            keys = parser.get_parsed_content(f"{transforms_id}#{i}#keys", instantiate=False)
            return [keys] if isinstance(keys, str) else list(keys)
        if target == "LoadSequencesd":
            if "image_key" not in t:
                return ["image"]
            return [str(parser.get_parsed_content(f"{transforms_id}#{i}#image_key", instantiate=False))]
    return []


def _labels(metadata: Mapping[str, Any], output_values: str) -> dict[str, int]:
    """Label name -> value in the saved map: the dataset's values unless the bundle writes channel indices."""
    fmt = metadata.get("network_data_format", {})
    pred = fmt.get("outputs", {}).get("pred", {})
    if output_values != "channels":
        pred = fmt.get("post_processed_outputs", {}).get("pred") or pred
    return {str(v).lower(): int(k) for k, v in pred.get("channel_def", {}).items() if str(v).lower() != "background"}


def checkpoint_target(parser, bundle_root: Path) -> Path:
    """The weights file the bundle's inference loads: its ``ckpt_path`` (an external-evaluation bundle names
    the source bundle's), else ``models/model.pt`` as MONAI Label assumes."""
    if "ckpt_path" in parser:
        return Path(str(parser.get_parsed_content("ckpt_path"))).resolve()
    return bundle_root / "models" / "model.pt"


def read_bundle(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> ServableBundle:
    """Read one bundle folder and say whether MONAI Label can serve it.

    Args:
        path: a bundle folder (``configs/inference.(json|yaml)``, ``configs/metadata.json``).
        overrides: config id -> value applied before resolving ``ckpt_path`` and the loaded keys.

    Returns:
        a ServableBundle; ``problems`` lists each reason it cannot be served (no inference config, no weights,
        pre-processing that loads other keys than ``image``).
    """
    path = Path(path).resolve()
    bundle = ServableBundle(name=path.name, path=path)
    configs = [path / "configs" / c for c in INFERENCE_CONFIGS if (path / "configs" / c).is_file()]
    meta_file = path / "configs" / "metadata.json"
    if not configs:
        bundle.problems.append(f"{path}: no configs/inference.json or configs/inference.yaml")
        return bundle
    if not meta_file.is_file():
        bundle.problems.append(f"{meta_file}: missing")
        return bundle
    bundle.config_file = configs[0]
    with open(meta_file) as f:
        metadata = json.load(f)
    inputs = metadata.get("network_data_format", {}).get("inputs", {})
    bundle.input_channels = dict(next(iter(inputs.values()), {}).get("channel_def", {}))

    parser = bundle_parser(bundle.config_file, path, overrides or {})
    output_values = parser.get_parsed_content("output_values") if "output_values" in parser else "dataset"
    bundle.labels = _labels(metadata, str(output_values))
    bundle.image_keys = _load_keys(parser)
    if bundle.image_keys != ["image"]:
        bundle.problems.append(
            f"{bundle.config_file}: pre-processing loads keys {bundle.image_keys}, MONAI Label gives one key 'image'"
        )
    train = next((path / "configs" / c for c in TRAIN_CONFIGS if (path / "configs" / c).is_file()), None)
    if train is not None:
        train_keys = _load_keys(bundle_parser(train, path, {}), "train#deterministic_transforms")
        bundle.train_config = train if sorted(train_keys) == ["image", "label"] else None
    try:
        ckpt = checkpoint_target(parser, path)
    except Exception as err:  # noqa: BLE001 - e.g. an external bundle whose source bundle is not found
        while err.__cause__ is not None:
            err = err.__cause__
        bundle.problems.append(f"{path.name}: {err}")
        return bundle
    if ckpt.is_file():
        bundle.checkpoint = ckpt
    else:
        bundle.problems.append(f"{path.name}: no weights at {ckpt} (train the bundle first)")
    return bundle


def discover_bundles(
    root: str | os.PathLike, models: str | Sequence[str] | None = "all", overrides: Mapping[str, Any] | None = None
) -> list[ServableBundle]:
    """Every PRISM segmentation bundle folder under ``root`` (``prism_*_seg`` with an inference config), by name.

    Args:
        root: folder holding bundle folders (the repository's ``bundles/`` or a copy).
        models: ``"all"`` (or None/empty), or bundle names, comma separated or a list; a name may omit ``prism_``.
        overrides: passed to :func:`read_bundle`.

    Raises:
        ValueError: ``root`` is not a folder, or a requested name is not a bundle there.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"bundles: {root} is not a folder")
    found = {
        p.name: p
        for p in sorted(root.iterdir())
        if p.name.startswith("prism_")
        and p.name.endswith("_seg")
        and any((p / "configs" / c).is_file() for c in INFERENCE_CONFIGS)
    }
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    wanted = [] if not models or list(models) == ["all"] else list(models)
    names = []
    for m in wanted:
        name = m if m in found else f"prism_{m}"
        if name not in found:
            raise ValueError(f"models: {m!r} is not a bundle under {root} (have: {', '.join(found) or 'none'})")
        names.append(name)
    return [read_bundle(found[n], overrides) for n in (names or list(found))]


def save_untrained_weights(
    bundle: str | os.PathLike, out_file: str | os.PathLike, overrides: Mapping[str, Any] | None = None, seed: int = 0
) -> Path:
    """Save the state dict of the bundle's ``network_def``, untrained, as built with ``overrides``.

    For smoke tests of serving only (shape, geometry and label values of the answer); its predictions mean
    nothing. The file is a plain state dict, loadable with ``torch.load(..., weights_only=True)``.
    """
    import torch

    bundle = Path(bundle).resolve()
    config = next((bundle / "configs" / c for c in INFERENCE_CONFIGS if (bundle / "configs" / c).is_file()), None)
    if config is None:
        raise ValueError(f"{bundle}: no inference config")
    torch.manual_seed(seed)
    network = bundle_parser(config, bundle, overrides or {}).get_parsed_content("network_def")
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), out_file)
    return out_file
