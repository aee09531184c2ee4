"""Atomic, resumable training checkpoints.

A checkpoint is one ``torch.save``'d dict ``{name: obj.state_dict()}`` over the objects the bundle names in
its ``save_dict`` (network, every optimizer and scheduler, the AMP scalers, the engine, the loss history). It
holds tensors, numbers and strings only, so ``torch.load(path, weights_only=True)`` reads it (MONAI's
``CheckpointLoader`` does exactly that when a run resumes). Files are written to a temporary name in the same
folder and moved into place with ``os.replace``, so a run killed while saving never leaves a truncated
checkpoint behind: the newest complete file is always the one to resume from.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from ignite.engine import Engine, Events
from monai.handlers import CheckpointLoader

__all__ = ["AtomicCheckpointSaver", "ResumeCheckpointLoader", "atomic_save", "latest_checkpoint", "CHECKPOINT_PATTERN"]

CHECKPOINT_PATTERN = re.compile(r"^checkpoint_iter(\d+)\.pt$")

logger = logging.getLogger(__name__)


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` to ``path`` through a temporary file and ``os.replace`` (atomic on one filesystem).

    Returns:
        the final path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def latest_checkpoint(ckpt_dir: str | os.PathLike) -> str | None:
    """Path of the checkpoint with the highest iteration in ``ckpt_dir``, or None when there is none (or no folder).

    Only complete files named ``checkpoint_iter<N>.pt`` count; temporary files of an interrupted save do not.
    """
    folder = Path(ckpt_dir)
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT_PATTERN.match(p.name))]
    return str(max(found)[1]) if found else None


class AtomicCheckpointSaver:
    """Ignite handler that writes resumable checkpoints every ``save_interval`` epochs or iterations and at the end.

    Each checkpoint is ``checkpoint_iter<N>.pt`` (N the engine iteration, zero-padded) in ``save_dir``; the
    ``n_saved`` newest are kept. When the run completes, the state dict of ``save_dict[final_key]`` alone is also
    written to ``final_filename`` (the bundle's ``models/model.pt``). Attach it on rank 0 only in distributed runs.

    Args:
        save_dir: folder of the checkpoints.
        save_dict: name -> object with ``state_dict()`` (network, optimizers, schedulers, engine, ...).
        save_interval: save every N epochs (``epoch_level``) or iterations; 0 saves only at the end.
        epoch_level: count ``save_interval`` in epochs (True) or iterations (False).
        n_saved: number of interval checkpoints to keep (None keeps all).
        final_key: entry of ``save_dict`` written alone to ``final_filename`` on completion; None to skip.
        final_filename: file name (in ``save_dir``) of the final weights.
        engine_key: name under which the engine this handler is attached to joins the checkpoint (None: not
            saved). This avoids a config cycle: the trainer's handler list cannot name the trainer itself.

    Raises:
        ValueError: when ``save_dict`` is empty, an entry has no ``state_dict``, ``final_key`` is not in it, or
            ``save_interval``/``n_saved`` are negative or zero.
    """

    def __init__(
        self,
        save_dir: str | os.PathLike,
        save_dict: Mapping[str, Any],
        save_interval: int = 1,
        epoch_level: bool = True,
        n_saved: int | None = 2,
        final_key: str | None = "model",
        final_filename: str = "model.pt",
        engine_key: str | None = "trainer",
    ) -> None:
        if not save_dict:
            raise ValueError("AtomicCheckpointSaver: save_dict is empty.")
        missing = [k for k, v in save_dict.items() if not hasattr(v, "state_dict")]
        if missing:
            raise ValueError(f"AtomicCheckpointSaver: save_dict entries {missing} have no state_dict().")
        if final_key is not None and final_key not in save_dict:
            raise ValueError(f"AtomicCheckpointSaver: final_key {final_key!r} is not in save_dict {list(save_dict)}.")
        if save_interval < 0:
            raise ValueError(f"AtomicCheckpointSaver: save_interval should be >= 0, got {save_interval}.")
        if n_saved is not None and n_saved < 1:
            raise ValueError(f"AtomicCheckpointSaver: n_saved should be >= 1 or None, got {n_saved}.")
        self.save_dir = Path(save_dir)
        self.save_dict = dict(save_dict)
        self.save_interval = int(save_interval)
        self.epoch_level = epoch_level
        self.n_saved = n_saved
        self.final_key = final_key
        self.final_filename = final_filename
        self.engine_key = engine_key

    def attach(self, engine: Engine) -> None:
        if self.engine_key is not None:
            self.save_dict[self.engine_key] = engine
        if self.save_interval > 0:
            event = Events.EPOCH_COMPLETED if self.epoch_level else Events.ITERATION_COMPLETED
            engine.add_event_handler(event(every=self.save_interval), self.save)
        engine.add_event_handler(Events.COMPLETED, self.completed)

    def state(self) -> dict[str, Any]:
        """The checkpoint content: every object's state dict."""
        return {name: obj.state_dict() for name, obj in self.save_dict.items()}

    def save(self, engine: Engine) -> Path:
        """Write ``checkpoint_iter<N>.pt`` for the current iteration and drop the oldest beyond ``n_saved``."""
        path = atomic_save(self.state(), self.save_dir / f"checkpoint_iter{engine.state.iteration:09d}.pt")
        logger.info("saved checkpoint %s", path)
        if self.n_saved is not None:
            found = sorted(
                (int(m.group(1)), p) for p in self.save_dir.iterdir() if (m := CHECKPOINT_PATTERN.match(p.name))
            )
            for _, old in found[: -self.n_saved]:
                old.unlink()
        return path

    def completed(self, engine: Engine) -> None:
        """Save the last checkpoint (if not already saved at this iteration) and the final weights."""
        last = self.save_dir / f"checkpoint_iter{engine.state.iteration:09d}.pt"
        if not last.exists():
            self.save(engine)
        if self.final_key is not None:
            path = atomic_save(self.save_dict[self.final_key].state_dict(), self.save_dir / self.final_filename)
            logger.info("saved final weights %s", path)


class ResumeCheckpointLoader(CheckpointLoader):
    """MONAI's ``CheckpointLoader`` (``weights_only=True`` load, at ``Events.STARTED``) that also restores the engine
    it is attached to, under ``engine_key``: epoch, iteration and, for the PRISM trainer, the AMP scalers.

    Args:
        load_path: checkpoint to resume from.
        load_dict: name -> object to restore (as given to :class:`AtomicCheckpointSaver`).
        engine_key: checkpoint entry of the engine state.
        kwargs: other ``CheckpointLoader`` arguments (``map_location``, ``strict``, ...).
    """

    def __init__(self, load_path: str, load_dict: Mapping[str, Any], engine_key: str = "trainer", **kwargs: Any) -> None:
        super().__init__(load_path=load_path, load_dict=dict(load_dict), **kwargs)
        self.engine_key = engine_key

    def attach(self, engine: Engine) -> None:
        self.load_dict[self.engine_key] = engine
        logger.info("resuming from %s", self.load_path)
        super().attach(engine)
