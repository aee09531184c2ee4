"""Ignite handlers of the pretraining bundle: a progress line and loss curves (seeding for exact resume is
``prism.bundle.IterationSeeder``, shared with the task bundles).

- :class:`ProgressLogger` logs the loss terms, learning rates and throughput every few iterations.
- :class:`LossHistory` keeps per-iteration loss terms (it is part of the checkpoint, so curves survive a
  resume) and writes ``loss_curves.png`` and ``loss_history.csv``.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ignite.engine import Engine, Events

from prism.bundle.handlers import rank as _rank
from prism.bundle.handlers import world_size as _world_size
from prism.engines.trainer import step_output

__all__ = ["ProgressLogger", "LossHistory", "plot_loss_curves"]

logger = logging.getLogger("prism.pretrain")

class ProgressLogger:
    """Log ``epoch e/E iter i/N | loss terms | learning rates | samples/s`` every ``interval`` iterations.

    Throughput counts the samples of all ranks (batch size x world size) over wall time since the last line.

    Args:
        interval: iterations between two lines.
        batch_key: key of the batch dict whose first dimension is the batch size.
    """

    def __init__(self, interval: int = 10, batch_key: str = "image") -> None:
        if interval < 1:
            raise ValueError(f"ProgressLogger: interval should be >= 1, got {interval}.")
        self.interval = interval
        self.batch_key = batch_key
        self._samples = 0
        self._since = time.perf_counter()

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self._reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._count)
        engine.add_event_handler(Events.ITERATION_COMPLETED(every=self.interval), self.log)

    def _reset(self, engine: Engine) -> None:
        self._samples = 0
        self._since = time.perf_counter()

    def _count(self, engine: Engine) -> None:
        batch = engine.state.batch
        item = batch.get(self.batch_key) if isinstance(batch, dict) else None
        self._samples += (int(item.shape[0]) if isinstance(item, torch.Tensor) else 1) * _world_size()

    def log(self, engine: Engine) -> None:
        output = step_output(engine.state.output)
        elapsed = max(time.perf_counter() - self._since, 1e-9)
        losses = " ".join(f"{k}={v:.4f}" for k, v in output.items() if not k.startswith("lr_"))
        lrs = " ".join(f"{k}={v:.2e}" for k, v in output.items() if k.startswith("lr_"))
        length = engine.state.epoch_length or 0
        it_in_epoch = (engine.state.iteration - 1) % length + 1 if length else engine.state.iteration
        logger.info(
            "epoch %d/%d iter %d/%d | %s | %s | %.2f samples/s",
            engine.state.epoch,
            engine.state.max_epochs,
            it_in_epoch,
            length,
            losses,
            lrs,
            self._samples / elapsed,
        )
        self._samples = 0
        self._since = time.perf_counter()


class LossHistory:
    """Record the trainer's scalar outputs each iteration; write ``loss_curves.png`` and ``loss_history.csv``.

    It has ``state_dict``/``load_state_dict`` (lists of floats), so putting it in the checkpoint's save dict keeps
    the whole history across a resume. Files are (re)written at every epoch end and at completion, by rank 0 only
    in distributed runs (the losses are rank 0's).

    Args:
        output_dir: folder of the PNG and CSV.
        keys: output keys to plot (default: every key not starting with ``lr_``), one panel each.
        write_every: write the files every N epochs.
    """

    def __init__(self, output_dir: str | os.PathLike, keys: Sequence[str] | None = None, write_every: int = 1) -> None:
        self.output_dir = Path(output_dir)
        self.keys = tuple(keys) if keys is not None else None
        self.write_every = max(1, int(write_every))
        self.history: dict[str, list[float]] = {"iteration": [], "epoch": []}

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.record)
        engine.add_event_handler(Events.EPOCH_COMPLETED(every=self.write_every), self.write)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def state_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.history.items()}

    def load_state_dict(self, state: dict[str, list[float]]) -> None:
        self.history = {k: [float(x) for x in v] for k, v in state.items()}

    def record(self, engine: Engine) -> None:
        output = step_output(engine.state.output)
        if not output:
            return
        n = len(self.history["iteration"])
        self.history["iteration"].append(float(engine.state.iteration))
        self.history["epoch"].append(float(engine.state.epoch))
        for key, value in output.items():
            column = self.history.setdefault(key, [math.nan] * n)
            column.append(float(value))
        for column in self.history.values():  # keys absent this iteration
            if len(column) < n + 1:
                column.append(math.nan)

    def write(self, engine: Engine | None = None) -> None:
        if not self.history["iteration"] or _rank() != 0:  # every rank records (for its checkpoint), rank 0 writes
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        names = list(self.history)
        with open(self.output_dir / "loss_history.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(names)
            writer.writerows(zip(*(self.history[n] for n in names)))
        keys = self.keys or [k for k in names if k not in ("iteration", "epoch") and not k.startswith("lr_")]
        plot_loss_curves(self.history, keys, self.output_dir / "loss_curves.png")


def plot_loss_curves(history: dict[str, list[float]], keys: Sequence[str], path: str | os.PathLike) -> Path:
    """Plot each key of ``history`` against iteration (raw, light) with its per-epoch mean (dark) to ``path``.

    Raises:
        ValueError: when a key is missing from ``history``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"plot_loss_curves: keys {missing} are not in the history ({sorted(history)}).")
    iterations = np.asarray(history["iteration"])
    epochs = np.asarray(history["epoch"])
    cols = min(3, max(1, len(keys)))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        values = np.asarray(history[key], dtype=float)
        ax.plot(iterations, values, color="tab:blue", alpha=0.3, lw=0.8, label="iteration")
        ends, means = [], []
        for e in np.unique(epochs):
            sel = (epochs == e) & np.isfinite(values)
            if sel.any():
                ends.append(iterations[sel].max())
                means.append(values[sel].mean())
        ax.plot(ends, means, color="tab:blue", marker="o", ms=3, lw=1.5, label="epoch mean")
        ax.set_title(key)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
