"""The PRISM pretraining engine: one ignite iteration = a generator step and a discriminator step.

Per iteration (Qiu et al., section 4.2)::

    generator step      loss_G = w_rec L1 + w_meta (TR/TE/FA + region) + w_adv non-saturating G + w_con InfoNCE
                        backward -> generator optimizer step -> generator scheduler step
    discriminator step  loss_D = non-saturating D on (real latent, detached translated latent)
                        backward -> discriminator optimizer step -> discriminator scheduler step

Both schedulers step once per iteration whether or not AMP is on (the paper's code only stepped them on the
non-AMP path, leaving both learning rates at 0 under AMP). AMP uses ``torch.autocast`` with one
``GradScaler`` per optimizer on CUDA; on CPU the step runs in float32. The loss terms come from
:class:`prism.engines.objectives.PretrainObjectives`, which may be wrapped in ``DistributedDataParallel``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from monai.engines import Trainer
from monai.engines.workflow import Workflow
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from prism.engines.objectives import PretrainObjectives

__all__ = ["PrismPretrainTrainer", "AmpState", "step_output"]

logger = logging.getLogger(__name__)

_AMP_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}


class AmpState:
    """The generator and discriminator ``GradScaler`` as one checkpointable object (empty dicts when disabled)."""

    def __init__(self, generator: torch.amp.GradScaler, discriminator: torch.amp.GradScaler) -> None:
        self.generator = generator
        self.discriminator = discriminator

    def state_dict(self) -> dict[str, dict]:
        return {"generator": self.generator.state_dict(), "discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: dict[str, dict]) -> None:
        for name, scaler in (("generator", self.generator), ("discriminator", self.discriminator)):
            if state.get(name) and scaler.is_enabled():
                scaler.load_state_dict(state[name])


def step_output(output: Any) -> dict[str, float]:
    """The loss/learning-rate dict of a trainer output (a list of per-sample dicts, or a dict); {} otherwise."""
    if isinstance(output, (list, tuple)) and output and isinstance(output[0], dict):
        return output[0]
    return output if isinstance(output, dict) else {}


def _unwrap(network: torch.nn.Module) -> torch.nn.Module:
    return network.module if isinstance(network, torch.nn.parallel.DistributedDataParallel) else network


class PrismPretrainTrainer(Trainer):
    """MONAI trainer running PRISM's pretraining step with separate generator and discriminator optimizers.

    ``engine.state.output`` is a list with one dict per sample (MONAI's decollated layout; the values are batch
    scalars, so the dicts are equal) of Python floats: ``loss`` (weighted generator loss), each enabled loss term
    (``reconstruction``, ``acquisition``, ``region``, ``adversarial_g``, ``adversarial_d``, ``contrastive``) and the
    learning rates ``lr_generator`` / ``lr_discriminator``. :func:`step_output` returns that dict.

    Args:
        device: device of the step.
        max_epochs: epochs to run.
        train_data_loader: loader of pretraining batches (dicts with the keys ``network`` expects).
        network: a :class:`PretrainObjectives` (or a ``DistributedDataParallel`` around one).
        generator_optimizer: optimizer over ``model.generator_parameters()`` (encoder and all heads).
        discriminator_optimizer: optimizer over ``model.discriminator_parameters()``; needed when the translation
            objective is on, ignored otherwise.
        generator_scheduler: scheduler stepped after every generator step (e.g. :class:`WarmupCosineLR`).
        discriminator_scheduler: scheduler stepped after every discriminator step.
        epoch_length: iterations per epoch (default: ``len(train_data_loader)``).
        non_blocking: non-blocking host-to-device copies.
        amp: mixed precision on CUDA (``torch.autocast`` + ``GradScaler``); ignored with a warning on CPU.
        amp_dtype: autocast dtype, "float16" or "bfloat16".
        max_grad_norm: clip each optimizer's gradient norm to this value (None: no clipping).
        train_handlers: ignite/MONAI handlers to attach.

    Raises:
        ValueError: when ``network`` is not a PretrainObjectives, or the translation objective is on without a
            discriminator optimizer.
    """

    def __init__(
        self,
        device: torch.device | str,
        max_epochs: int,
        train_data_loader: Any,
        network: torch.nn.Module,
        generator_optimizer: Optimizer,
        discriminator_optimizer: Optimizer | None = None,
        generator_scheduler: LRScheduler | None = None,
        discriminator_scheduler: LRScheduler | None = None,
        epoch_length: int | None = None,
        non_blocking: bool = False,
        amp: bool = False,
        amp_dtype: str = "float16",
        max_grad_norm: float | None = None,
        train_handlers: Sequence | None = None,
    ) -> None:
        objectives = _unwrap(network)
        if not isinstance(objectives, PretrainObjectives):
            raise ValueError(
                f"PrismPretrainTrainer: network should be a PretrainObjectives (optionally DDP-wrapped), "
                f"got {type(objectives).__name__}."
            )
        if objectives.uses_discriminator and discriminator_optimizer is None:
            raise ValueError(
                "PrismPretrainTrainer: the translation objective is on but discriminator_optimizer is None."
            )
        device = torch.device(device)
        if amp and device.type != "cuda":
            warnings.warn(f"PrismPretrainTrainer: amp=True ignored on device {device}; running in float32.")
            amp = False
        super().__init__(
            device=device,
            max_epochs=max_epochs,
            data_loader=train_data_loader,
            epoch_length=epoch_length,
            non_blocking=non_blocking,
            handlers=train_handlers,
            amp=amp,
            decollate=False,
        )
        self.network = network
        self.objectives = objectives
        self.generator_optimizer = generator_optimizer
        self.discriminator_optimizer = discriminator_optimizer if objectives.uses_discriminator else None
        self.generator_scheduler = generator_scheduler
        self.discriminator_scheduler = discriminator_scheduler if objectives.uses_discriminator else None
        self.amp_dtype = _AMP_DTYPES[amp_dtype] if amp_dtype in _AMP_DTYPES else None
        if self.amp_dtype is None:
            raise ValueError(f"PrismPretrainTrainer: amp_dtype should be one of {list(_AMP_DTYPES)}, got {amp_dtype!r}.")
        self.max_grad_norm = max_grad_norm
        use_scaler = amp and self.amp_dtype == torch.float16
        self.amp_state = AmpState(
            torch.amp.GradScaler("cuda", enabled=use_scaler), torch.amp.GradScaler("cuda", enabled=use_scaler)
        )

    def state_dict(self) -> dict[str, Any]:  # type: ignore[override]
        """Ignite's engine state (epoch, iteration, ...) plus the AMP scalers', so one checkpoint entry has both."""
        state = dict(super().state_dict())
        state["amp"] = self.amp_state.state_dict()
        return state

    def load_state_dict(self, state_dict: Any) -> None:
        state = dict(state_dict)
        amp = state.pop("amp", None)
        super().load_state_dict(state)
        if amp:
            self.amp_state.load_state_dict(amp)

    def run(self) -> None:  # type: ignore[override]
        # skip Trainer.run: it replaces self.scaler with a single scaler; this engine owns two (amp_state).
        Workflow.run(self)

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v.to(self.state.device, non_blocking=self.non_blocking) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()
        }

    def _optimizer_step(
        self, loss: torch.Tensor, optimizer: Optimizer, scaler: torch.amp.GradScaler, scheduler: LRScheduler | None
    ) -> None:
        scaler.scale(loss).backward()
        if self.max_grad_norm is not None:
            scaler.unscale_(optimizer)
            params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
            torch.nn.utils.clip_grad_norm_(params, self.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:  # every branch: AMP or not, skipped scaler step or not
            scheduler.step()

    def _iteration(self, engine: Any, batchdata: dict[str, Any]) -> list[dict[str, float]]:  # type: ignore[override]
        if not isinstance(batchdata, dict):
            raise ValueError(f"PrismPretrainTrainer: expected a dict batch, got {type(batchdata).__name__}.")
        batch = self._to_device(batchdata)
        self.network.train()
        autocast = dict(device_type=self.state.device.type, dtype=self.amp_dtype, enabled=self.amp)

        self.generator_optimizer.zero_grad(set_to_none=True)
        with torch.autocast(**autocast):
            g_out = self.network(batch, step="generator")
        lr_generator = float(self.generator_optimizer.param_groups[0]["lr"])  # the rate this step uses
        self._optimizer_step(g_out["loss"], self.generator_optimizer, self.amp_state.generator, self.generator_scheduler)
        output = {k: float(v.detach()) for k, v in g_out.items() if isinstance(v, torch.Tensor) and v.ndim == 0}
        output["lr_generator"] = lr_generator

        if self.discriminator_optimizer is not None:
            self.discriminator_optimizer.zero_grad(set_to_none=True)  # drops what the generator loss put there
            with torch.autocast(**autocast):
                d_out = self.network(g_out["latents"], step="discriminator")
            lr_discriminator = float(self.discriminator_optimizer.param_groups[0]["lr"])
            self._optimizer_step(
                d_out["loss"], self.discriminator_optimizer, self.amp_state.discriminator, self.discriminator_scheduler
            )
            output["adversarial_d"] = float(d_out["loss"].detach())
            output["lr_discriminator"] = lr_discriminator
        # one dict per sample, like MONAI's decollated trainer outputs, so MONAI's default tracking handlers
        # (``from_engine(["loss"], first=True)``, used by ``--tracking mlflow``) read it unchanged.
        batch_size = next((int(v.shape[0]) for v in batch.values() if isinstance(v, torch.Tensor) and v.ndim), 1)
        return [dict(output) for _ in range(batch_size)]
