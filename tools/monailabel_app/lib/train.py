"""A MONAI Label training task for one PRISM bundle: ``BundleTrainTask`` with the bundle's own overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monailabel.tasks.train.bundle import BundleTrainTask

from lib.bundles import ServableBundle

__all__ = ["PrismBundleTrainTask"]


class PrismBundleTrainTask(BundleTrainTask):
    """``BundleTrainTask`` running a PRISM bundle's ``train.yaml`` on MONAI Label's labelled studies.

    MONAI Label overrides the training and validation data (``image``/``label`` of its datastore), the epochs and
    the device, and starts from ``models/model.pt`` when it exists (``pretrained``, loaded strictly here).
    The bundle's rolling checkpoints would otherwise resume a finished run at once, so ``resume`` is off unless
    the overrides say otherwise. The best weights land in ``models/model.pt``, which the inference task reloads.

    Args:
        bundle: the bundle as read by ``lib.bundles.read_bundle`` (``train_config`` must be set).
        conf: the app's ``--conf`` options.
        overrides: bundle config id -> value (``bundle_overrides`` merged with ``train_overrides``).
    """

    def __init__(
        self, bundle: ServableBundle, conf: Mapping[str, str], overrides: Mapping[str, Any] | None = None
    ) -> None:
        if bundle.train_config is None:
            raise ValueError(f"{bundle.path}: MONAI Label cannot train it (no train config loading image and label)")
        self._overrides = {"resume": False, **(overrides or {})}
        super().__init__(str(bundle.path), dict(conf), load_strict=True)

    def _update_overrides(self, overrides: dict[str, Any]) -> dict[str, Any]:
        mine = {k: v for k, v in self._overrides.items() if k not in overrides}
        overrides.update(mine)
        return overrides
