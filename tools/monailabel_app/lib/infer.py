"""A MONAI Label inference task for one PRISM bundle: ``BundleInferTask`` with the few adjustments they need."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from monailabel.tasks.infer.bundle import BundleConstants, BundleInferTask

from lib.bundles import ServableBundle

__all__ = ["PrismBundleInferTask"]

_HIDDEN = "__prism_hidden_strings__"


class _Constants(BundleConstants):
    """Point MONAI Label at the weights the bundle's own config loads (an external bundle's source model)."""

    def __init__(self, model_file: str) -> None:
        self._model_file = model_file

    def model_pytorch(self) -> str:
        return self._model_file


class _HideStrings:
    """Take string entries ``<key>_*`` out of the data dict (MONAI Label's ``image_path``).

    monai 1.6's ``Spacingd`` also updates entries whose names start with ``image_`` and fails on a string
    (``'str' object has no attribute 'update'``); the writer needs ``image_path`` back afterwards.
    """

    def __init__(self, key: str = "image") -> None:
        self.prefix = f"{key}_"

    def __call__(self, data: dict) -> dict:
        hidden = {k: v for k, v in data.items() if str(k).startswith(self.prefix) and isinstance(v, str)}
        for k in hidden:
            del data[k]
        data[_HIDDEN] = hidden
        return data


class _RestoreStrings:
    def __call__(self, data: dict) -> dict:
        data.update(data.pop(_HIDDEN, {}))
        return data


class PrismBundleInferTask(BundleInferTask):
    """``BundleInferTask`` for a PRISM bundle folder.

    Differences from the stock task: config overrides (``bundle_overrides``) are applied before the network is
    built, so a shrunk network matches shrunk weights; weights load strictly; an external-evaluation bundle
    uses the source bundle's ``models/model.pt`` its config names; ``label_names`` are the values in the
    returned label map (the bundle maps network channels back to the dataset's values, e.g. BraTS 1, 2, 4);
    ``image_path`` is hidden from the pre-processing (monai 1.6 ``Spacingd``); label maps are written as int16.

    Args:
        bundle: the bundle as read by ``lib.bundles.read_bundle`` (must be servable).
        conf: the app's ``--conf`` options.
        overrides: bundle config id -> value.
    """

    def __init__(self, bundle: ServableBundle, conf: Mapping[str, str], overrides: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:  # fmt: skip
        if not bundle.servable or bundle.checkpoint is None:
            raise ValueError(f"{bundle.path}: cannot be served: {'; '.join(bundle.problems)}")
        self._overrides = dict(overrides or {})
        model_file = os.path.relpath(bundle.checkpoint, bundle.path / "models")
        super().__init__(str(bundle.path), dict(conf), const=_Constants(model_file), load_strict=True, **kwargs)
        if self.valid:
            self.labels = dict(bundle.labels)
            self.description = f"{self.description} (input channels: {bundle.input_channels})"

    def _load_bundle_config(self, path, config):
        parser = super()._load_bundle_config(path, config)
        for key, value in self._overrides.items():
            parser[key] = value
        return parser

    def writer(self, data: dict[str, Any], extension: str | None = None, dtype: Any = None) -> tuple[Any, Any]:
        """Write label maps as int16 (the bundles' own ``SaveImaged`` dtype) unless ``result_dtype`` asks otherwise;
        MONAI Label would otherwise keep the float32 of the post-processing."""
        return super().writer(data, extension, dtype if dtype is not None else data.get("result_dtype") or "int16")

    def pre_transforms(self, data: Any = None) -> Sequence[Callable]:
        return [_HideStrings(self.key_image), *super().pre_transforms(data), _RestoreStrings()]
