"""Validation bookkeeping of the segmentation bundles that a resumed training run needs.

The training checkpoint (``prism.engines.AtomicCheckpointSaver``, restored by
``prism.engines.ResumeCheckpointLoader``) holds every object with a ``state_dict``. The validation side keeps
its memory in places without one: the evaluator's best metric and its epoch (MONAI ``Workflow`` state) and the
early-stopping counter (inside MONAI's ``EarlyStopHandler``). :class:`ValidationState` exposes them as one
state dict, so that a resumed run neither overwrites a better ``models/model.pt`` with a worse one nor forgets
how many validations went by without improvement. :class:`BestWeightsSaver` writes ``models/model.pt``
atomically whenever the evaluator records a new best metric.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from ignite.engine import Engine, Events

from prism.engines.checkpoint import CHECKPOINT_PATTERN, atomic_save, latest_checkpoint

__all__ = ["BestWeightsSaver", "ValidationState", "resume_path"]

logger = logging.getLogger(__name__)


def resume_path(ckpt_dir: str | os.PathLike, resume: bool = True) -> str | None:
    """The checkpoint a training run starts from: the newest in ``ckpt_dir`` when ``resume``, else None.

    With ``resume`` false the run starts over, and the rolling checkpoints of an earlier run are deleted here
    (with a warning naming them): the rolling saver keeps the highest iteration, so they would otherwise outlive
    the new run's checkpoints and a later resume would pick them. ``models/model.pt`` is left alone.
    """
    if resume:
        return latest_checkpoint(ckpt_dir)
    folder = Path(ckpt_dir)
    old = sorted(p for p in folder.iterdir() if CHECKPOINT_PATTERN.match(p.name)) if folder.is_dir() else []
    if old:
        logger.warning("resume is false: deleting the earlier run's checkpoint(s) %s", ", ".join(str(p) for p in old))
        for path in old:
            path.unlink()
    return None


def _unwrap(network: torch.nn.Module) -> torch.nn.Module:
    if isinstance(network, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)):
        return network.module
    return network


class ValidationState:
    """State dict over the evaluator's best key metric (and its epoch) and the early-stopping counter.

    Args:
        evaluator: the validation ``SupervisedEvaluator`` (its ``state.best_metric``/``best_metric_epoch``).
        early_stop: MONAI ``EarlyStopHandler`` whose trainer is set before the run starts (None: no early stop).
    """

    def __init__(self, evaluator: Engine, early_stop: Any = None) -> None:
        if not hasattr(evaluator, "state"):
            raise ValueError(f"ValidationState: evaluator should be an ignite Engine, got {type(evaluator).__name__}.")
        self.evaluator = evaluator
        self.early_stop = early_stop

    def _stopper(self) -> Any:
        # MONAI's EarlyStopHandler builds ignite's EarlyStopping (which has a state dict) in set_trainer().
        return getattr(self.early_stop, "_handler", None) if self.early_stop is not None else None

    def state_dict(self) -> dict[str, Any]:
        """``best_metric``, ``best_metric_epoch`` and, with early stopping, ``early_stop_counter``/``early_stop_best``."""
        state = {
            "best_metric": float(self.evaluator.state.best_metric),
            "best_metric_epoch": int(self.evaluator.state.best_metric_epoch),
        }
        stopper = self._stopper()
        if stopper is not None:
            state["early_stop_counter"] = int(stopper.counter)
            state["early_stop_best"] = None if stopper.best_score is None else float(stopper.best_score)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        missing = {"best_metric", "best_metric_epoch"} - set(state_dict)
        if missing:
            raise ValueError(f"ValidationState: the checkpoint's validation entry lacks {sorted(missing)}.")
        self.evaluator.state.best_metric = float(state_dict["best_metric"])
        self.evaluator.state.best_metric_epoch = int(state_dict["best_metric_epoch"])
        stopper = self._stopper()
        if stopper is not None and "early_stop_counter" in state_dict:
            stopper.counter = int(state_dict["early_stop_counter"])
            stopper.best_score = state_dict["early_stop_best"]


class BestWeightsSaver:
    """Write the network's weights (a plain state dict) atomically when the evaluator records a new best metric.

    Attach it to the evaluator: MONAI's evaluator updates ``state.best_metric_epoch`` at the end of a validation
    before the handlers run, so a validation whose epoch equals it improved the best. The file never holds a
    half-written checkpoint (``prism.engines.atomic_save``), and DDP/DataParallel wrappers are unwrapped so the
    keys are the bare network's.

    Args:
        save_dir: folder of the file.
        network: the network whose weights are saved.
        filename: file name in ``save_dir`` (the bundles' ``model.pt``, read by evaluate and inference).
    """

    def __init__(self, save_dir: str | os.PathLike, network: torch.nn.Module, filename: str = "model.pt") -> None:
        if not isinstance(network, torch.nn.Module):
            raise ValueError(f"BestWeightsSaver: network should be a torch.nn.Module, got {type(network).__name__}.")
        if not filename or os.path.basename(filename) != filename:
            raise ValueError(f"BestWeightsSaver: filename should be a plain file name, got {filename!r}.")
        self.path = Path(save_dir) / filename
        self.network = network

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        if engine.state.best_metric_epoch != engine.state.epoch:
            return
        atomic_save(_unwrap(self.network).state_dict(), self.path)
        logger.info("saved best weights (%s = %.4f at epoch %d) to %s", engine.state.key_metric_name,
                    engine.state.best_metric, engine.state.epoch, self.path)  # fmt: skip
