"""MONAI Label app serving the local PRISM segmentation bundles, fully offline.

    monailabel start_server --app tools/monailabel_app --studies /data/studies --host 127.0.0.1 --port 8000 \\
        --conf bundles bundles --conf models amos_abdomen_seg,brats2021_tumour_seg

Options (``--conf NAME VALUE``):
    bundles: folder of bundle folders (default: the repository's ``bundles/``).
    models: ``all`` (default) or bundle names, comma separated (``prism_`` may be left out).
    bundle_overrides: JSON object of bundle config ids -> values applied to every served bundle, e.g.
        ``{"feature_size": 12}`` for weights trained with that override. The network is built with them, so
        they must match the weights (loading is strict).
    train_overrides: JSON object merged over ``bundle_overrides`` for training only, e.g.
        ``{"pretrained_source": "scratch", "num_workers": 0}``.
    preload: ``true`` to load the networks at start-up (MONAI Label's own option).
"""

from __future__ import annotations

import logging
from pathlib import Path

from monailabel.interfaces.app import MONAILabelApp
from monailabel.interfaces.tasks.infer_v2 import InferTask
from monailabel.interfaces.tasks.train import TrainTask

from lib.bundles import discover_bundles, parse_overrides
from lib.infer import PrismBundleInferTask
from lib.train import PrismBundleTrainTask

__all__ = ["PrismApp"]

logger = logging.getLogger(__name__)
_DEFAULT_BUNDLES = Path(__file__).resolve().parents[2] / "bundles"


class PrismApp(MONAILabelApp):
    """Registers a ``PrismBundleInferTask`` per servable PRISM bundle and a ``PrismBundleTrainTask`` per trainable
    one (single-sequence bundles with a train config); never fetches a model-zoo index or weights."""

    def __init__(self, app_dir: str, studies: str, conf: dict[str, str]) -> None:
        self.overrides = parse_overrides(conf.get("bundle_overrides"))
        self.train_overrides = {**self.overrides, **parse_overrides(conf.get("train_overrides"))}
        self.bundles = discover_bundles(conf.get("bundles") or _DEFAULT_BUNDLES, conf.get("models", "all"),
                                        self.overrides)  # fmt: skip
        super().__init__(
            app_dir=app_dir,
            studies=studies,
            conf=conf,
            name="PRISM bundles",
            description="PRISM segmentation bundles (research use, not for diagnosis)",
            version="0.1.0",
        )

    def init_infers(self) -> dict[str, InferTask]:
        infers: dict[str, InferTask] = {}
        for bundle in self.bundles:
            if not bundle.servable:
                logger.warning("Not serving %s: %s", bundle.name, "; ".join(bundle.problems))
                continue
            task = PrismBundleInferTask(bundle, self.conf, self.overrides)
            if task.is_valid():
                infers[bundle.name] = task
                logger.info("Serving %s (labels %s, weights %s)", bundle.name, bundle.labels, bundle.checkpoint)
        if not infers:
            logger.warning("No PRISM bundle can be served: train one (models/model.pt) or check --conf bundles")
        return infers

    def init_trainers(self) -> dict[str, TrainTask]:
        trainers: dict[str, TrainTask] = {}
        for bundle in self.bundles:
            if bundle.train_config is None:
                logger.info("No MONAI Label training for %s (multi-sequence or external bundle)", bundle.name)
                continue
            task = PrismBundleTrainTask(bundle, self.conf, self.train_overrides)
            if task.is_valid():
                trainers[bundle.name] = task
        return trainers
