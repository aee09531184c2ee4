"""Learning-rate schedule for pretraining: linear warm-up followed by a cosine decay.

Each optimizer of the pretraining step (generator and discriminator) owns one of these and steps it once per
iteration, in every branch of the step (with or without AMP), so neither learning rate can stay at its
warm-up value of the first step.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

__all__ = ["WarmupCosineLR"]


class WarmupCosineLR(LRScheduler):
    """Linear warm-up to the base learning rate, then cosine decay to ``min_lr_ratio`` times the base rate.

    The learning rate used by optimizer step ``s`` (0-based) is ``base * factor(s)`` with::

        factor(s) = (s + 1) / warmup_steps                                  for s < warmup_steps
        factor(s) = r + (1 - r) * (1 + cos(pi * p)) / 2,  p = (s - warmup_steps) / (total_steps - warmup_steps)

    clamped at ``p = 1``. Unlike a warm-up that starts at 0, the very first step already moves the weights.
    The state dict holds numbers only, so checkpoints load with ``torch.load(..., weights_only=True)``.

    Args:
        optimizer: the wrapped optimizer.
        warmup_steps: number of optimizer steps of linear warm-up (0 disables warm-up).
        total_steps: total number of optimizer steps of the run (warm-up included).
        min_lr_ratio: final learning rate as a fraction of the base rate, in [0, 1].
        last_epoch: index of the last step taken, -1 for a new run.

    Raises:
        ValueError: when ``total_steps`` < 1, ``warmup_steps`` is negative or not below ``total_steps``, or
            ``min_lr_ratio`` is outside [0, 1].
    """

    def __init__(
        self,
        optimizer: Optimizer,
        warmup_steps: int = 0,
        total_steps: int = 1,
        min_lr_ratio: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if total_steps < 1:
            raise ValueError(f"WarmupCosineLR: total_steps should be >= 1, got {total_steps}.")
        if warmup_steps < 0 or (warmup_steps > 0 and warmup_steps >= total_steps):
            raise ValueError(
                f"WarmupCosineLR: warmup_steps should be in [0, total_steps={total_steps}), got {warmup_steps}."
            )
        if not 0.0 <= min_lr_ratio <= 1.0:
            raise ValueError(f"WarmupCosineLR: min_lr_ratio should be in [0, 1], got {min_lr_ratio}.")
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.min_lr_ratio = float(min_lr_ratio)
        super().__init__(optimizer, last_epoch)

    def lr_factor(self, step: int) -> float:
        """Multiplier of the base learning rate for optimizer step ``step`` (0-based)."""
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def get_lr(self) -> list[float]:  # type: ignore[override]
        factor = self.lr_factor(self.last_epoch)
        return [base_lr * factor for base_lr in self.base_lrs]
