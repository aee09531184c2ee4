"""Ignite handlers every training bundle uses: exact-resume seeding, start-over cleanup, validation state, best
weights.

- :class:`IterationSeeder` makes every random draw (data order, random transforms, masks, dropout) a function of
  ``(seed, rank, epoch or iteration)`` only, so a run resumed from a checkpoint replays exactly what the
  uninterrupted run would have done.
- :func:`resume_path` picks the checkpoint a run resumes from; :class:`StartOver` deletes an earlier run's rolling
  checkpoints when a run starts with ``resume: false`` (when the run starts, not when the config is parsed:
  tools such as MONAI Label resolve configs they never run).
- The training checkpoint (:class:`prism.bundle.AtomicCheckpointSaver`, restored by
  :class:`prism.bundle.ResumeCheckpointLoader`) holds every object with a ``state_dict``. The validation side keeps
  its memory in places without one: the evaluator's best metric and its epoch (MONAI ``Workflow`` state) and the
  early-stopping counter (inside MONAI's ``EarlyStopHandler``). :class:`ValidationState` exposes them as one
  state dict, so that a resumed run neither overwrites a better ``models/model.pt`` with a worse one nor forgets
  how many validations went by without improvement. :class:`BestWeightsSaver` writes ``models/model.pt``
  atomically whenever the evaluator records a new best metric.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ignite.engine import Engine, Events
from monai.data.utils import set_rnd

from prism.bundle.checkpoint import CHECKPOINT_PATTERN, atomic_save, latest_checkpoint

__all__ = [
    "BestWeightsSaver",
    "IterationSeeder",
    "StartOver",
    "ValidationState",
    "rank",
    "resume_path",
    "world_size",
]

logger = logging.getLogger(__name__)

_SEED_MOD = 2**31 - 1


def rank() -> int:
    """This process's rank in the default process group (0 outside distributed runs)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank()
    return 0


def world_size() -> int:
    """Processes in the default process group (1 outside distributed runs)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_world_size()
    return 1


class IterationSeeder:
    """Make every random draw of a run a function of ``(seed, rank, epoch or iteration)`` only.

    Three seeding points, each from its own stream (``numpy.random.SeedSequence([seed, rank, kind, n])``):

    - ``EPOCH_STARTED``: python, numpy and torch global RNGs. The epoch's data-loader iterator (its shuffling
      and the base seed of its workers) is drawn from this state, whether the iterator is created at the start of a
      resumed run or when the previous epoch's iterator runs out.
    - ``GET_BATCH_STARTED``: the random transforms of the loader's dataset (their own ``R`` states; main-process
      loading, ``num_workers=0``; with workers their seeds follow from the epoch state instead).
    - ``ITERATION_STARTED``: the global RNGs again, for the step itself (P-space samples ``z``, dropout).

    So a run resumed from a checkpoint replays exactly what the uninterrupted run would have done.

    Args:
        seed: base seed of the run.
        data_loader: the training loader, whose dataset's random transforms are reseeded per batch.
    """

    def __init__(self, seed: int = 0, data_loader: Any = None) -> None:
        self.seed = int(seed)
        self.data_loader = data_loader

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_STARTED, self.epoch_started)
        engine.add_event_handler(Events.GET_BATCH_STARTED, self.get_batch_started)
        engine.add_event_handler(Events.ITERATION_STARTED, self.iteration_started)

    def seed_for(self, kind: int, n: int) -> int:
        """Seed of stream ``kind`` (0 epoch, 1 batch, 2 step) at epoch/iteration ``n`` on this rank."""
        return int(np.random.SeedSequence([self.seed, rank(), kind, int(n)]).generate_state(1)[0]) % _SEED_MOD

    @staticmethod
    def _seed_globals(seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)

    def epoch_started(self, engine: Engine) -> None:
        self._seed_globals(self.seed_for(0, engine.state.epoch))

    def get_batch_started(self, engine: Engine) -> None:
        dataset = getattr(self.data_loader, "dataset", None)
        if dataset is not None:
            set_rnd(dataset, self.seed_for(1, engine.state.iteration))

    def iteration_started(self, engine: Engine) -> None:
        self._seed_globals(self.seed_for(2, engine.state.iteration))


def resume_path(ckpt_dir: str | os.PathLike, resume: bool = True) -> str | None:
    """The checkpoint a training run starts from: the newest in ``ckpt_dir`` when ``resume``, else None.

    Only looks; deleting the checkpoints of an earlier run when starting over is :class:`StartOver`'s job, when
    the run starts.
    """
    return latest_checkpoint(ckpt_dir) if resume else None


class StartOver:
    """When a run starts with ``resume`` false, delete the earlier run's rolling checkpoints (with a warning).

    The rolling saver keeps the highest iteration, so an earlier run's checkpoints would otherwise outlive the new
    run's and a later resume would pick them. ``models/model.pt`` is left alone. Attach it to the trainer; it acts
    at ``Events.STARTED``, on rank 0 only, and does nothing when ``resume`` is true.

    Args:
        ckpt_dir: folder of the rolling checkpoints (``checkpoint_iter<N>.pt``).
        resume: the run's ``resume`` setting.
    """

    def __init__(self, ckpt_dir: str | os.PathLike, resume: bool = True) -> None:
        self.ckpt_dir = Path(ckpt_dir)
        self.resume = bool(resume)

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self)

    def __call__(self, engine: Engine | None = None) -> list[Path]:
        """Delete the earlier checkpoints; return them."""
        if self.resume or rank() != 0 or not self.ckpt_dir.is_dir():
            return []
        old = sorted(p for p in self.ckpt_dir.iterdir() if CHECKPOINT_PATTERN.match(p.name))
        if old:
            logger.warning("resume is false: deleting the earlier run's checkpoint(s) %s", ", ".join(map(str, old)))
        for path in old:
            path.unlink()
        return old


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
    half-written checkpoint (``prism.bundle.atomic_save``), and DDP/DataParallel wrappers are unwrapped so the
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
