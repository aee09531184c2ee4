"""PRISM's pretraining objectives as one module, with named ablation switches (paper Table 5).

Objectives (section 4.2): ``reconstruction`` (masked image reconstruction, MIR), ``metadata`` (TR/TE/FA
regression + body region, Meta), ``translation`` (P-space translation with the latent discriminator, Tran) and
``contrastive`` (anatomy-invariant InfoNCE between an image and its translation, Con). Table 5's rows are the
named ablations of :data:`ABLATIONS`; any subset can also be listed by name.

One generator pass (``step="generator"``)::

    feats  = encode(masked image)                   -> reconstruct -> L1 vs. the unmasked image       (MIR)
                                                    -> TR/TE/FA from f_seq, region from f_ana         (Meta)
    fake   = translate(feats, z), z ~ N(0, I)       ; re-masked with the same block mask
    fakef  = encode(fake)                           -> non-saturating G loss on discriminate(fakef)   (Tran)
    InfoNCE(project(feats), project(fakef))                                                          (Con)

The encoder is trained by every term, the contrastive one included: nothing is frozen or detached on the
generator side. Re-masking the translation with the input's mask means the discriminator compares latents of
equally masked real and synthetic images, and the contrastive pair differs only in contrast. The
discriminator pass (``step="discriminator"``) scores the detached real and synthetic latents. Both passes go
through ``forward`` so the module can be wrapped in ``DistributedDataParallel``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
from monai.utils import look_up_option

from prism.losses import (
    acquisition_loss,
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    info_nce_loss,
    reconstruction_loss,
    region_loss,
)
from prism.networks.encoder import EncoderFeatures

__all__ = ["OBJECTIVES", "ABLATIONS", "resolve_objectives", "PretrainObjectives"]

OBJECTIVES: tuple[str, ...] = ("reconstruction", "metadata", "translation", "contrastive")

# Table 5 of the paper, top to bottom: MIR, +Meta, +Tran, +Con.
ABLATIONS: dict[str, tuple[str, ...]] = {
    "mir": ("reconstruction",),
    "mir_meta": ("reconstruction", "metadata"),
    "mir_meta_tran": ("reconstruction", "metadata", "translation"),
    "full": OBJECTIVES,
}


def resolve_objectives(objectives: str | Sequence[str]) -> tuple[str, ...]:
    """Turn an ablation name (``"mir"``, ``"mir_meta"``, ``"mir_meta_tran"``, ``"full"``) or a list of objective
    names into the tuple of enabled objectives, in canonical order.

    Raises:
        ValueError: for unknown names (with a suggestion), an empty list, or ``contrastive`` without
            ``translation`` (its positive pair is the translation).
    """
    if isinstance(objectives, str):
        return tuple(look_up_option(objectives, ABLATIONS))
    names = {look_up_option(name, OBJECTIVES) for name in objectives}
    if not names:
        raise ValueError(f"objectives: at least one of {OBJECTIVES} is needed, got an empty list.")
    if "contrastive" in names and "translation" not in names:
        raise ValueError("objectives: 'contrastive' needs 'translation' (the positive of an image is its translation).")
    return tuple(o for o in OBJECTIVES if o in names)


def _detached(feats: EncoderFeatures) -> EncoderFeatures:
    return EncoderFeatures(
        hidden_states=[h.detach() for h in feats.hidden_states],
        f_ana=feats.f_ana.detach(),
        f_seq=feats.f_seq.detach(),
        fused=feats.fused.detach(),
    )


class PretrainObjectives(nn.Module):
    """The weighted PRISM pretraining losses around a :class:`prism.networks.PrismPretrainModel`.

    Batch keys (tensors, batch first): ``image_key`` the masked input (B, 1, D, H, W); ``target_key`` the
    unmasked image (defaults to the input when absent); ``mask_key`` 1 inside the masked blocks (optional);
    ``acquisition_key`` normalised (TR, TE, FA) (B, 3) with ``acquisition_valid_key`` (B, 3) bool;
    ``region_key`` body-region index (B,), -1 when unknown. Metadata keys are needed only with ``metadata``.

    Args:
        model: the PRISM pretraining model.
        objectives: ablation name or list of objective names, see :func:`resolve_objectives`.
        reconstruction_weight, acquisition_weight, region_weight, adversarial_weight, contrastive_weight:
            weights of the generator loss terms.
        temperature: InfoNCE temperature.
        remask_translation: re-apply the input's block mask to the translation before re-encoding it.
        image_key, target_key, mask_key, acquisition_key, acquisition_valid_key, region_key: batch keys.

    Raises:
        ValueError: on unknown objectives or negative weights.
    """

    def __init__(
        self,
        model: nn.Module,
        objectives: str | Sequence[str] = "full",
        reconstruction_weight: float = 1.0,
        acquisition_weight: float = 1.0,
        region_weight: float = 0.1,
        adversarial_weight: float = 0.1,
        contrastive_weight: float = 0.1,
        temperature: float = 0.1,
        remask_translation: bool = True,
        image_key: str = "image",
        target_key: str = "target",
        mask_key: str = "mask",
        acquisition_key: str = "acquisition",
        acquisition_valid_key: str = "acquisition_valid",
        region_key: str = "region",
    ) -> None:
        super().__init__()
        weights = {
            "reconstruction_weight": reconstruction_weight,
            "acquisition_weight": acquisition_weight,
            "region_weight": region_weight,
            "adversarial_weight": adversarial_weight,
            "contrastive_weight": contrastive_weight,
        }
        negative = {k: v for k, v in weights.items() if v < 0}
        if negative:
            raise ValueError(f"PretrainObjectives: loss weights must be >= 0, got {negative}.")
        if temperature <= 0:
            raise ValueError(f"PretrainObjectives: temperature must be > 0, got {temperature}.")
        self.model = model
        self.objectives = resolve_objectives(objectives)
        self.weights = weights
        self.temperature = temperature
        self.remask_translation = remask_translation
        self.keys = {
            "image": image_key,
            "target": target_key,
            "mask": mask_key,
            "acquisition": acquisition_key,
            "acquisition_valid": acquisition_valid_key,
            "region": region_key,
        }

    @property
    def uses_discriminator(self) -> bool:
        """Whether the translation objective (and so a discriminator step) is on."""
        return "translation" in self.objectives

    def _get(self, batch: dict[str, Any], name: str) -> torch.Tensor:
        key = self.keys[name]
        if key not in batch:
            raise ValueError(
                f"PretrainObjectives: batch has no {key!r} ({name}), needed by objectives {self.objectives}; "
                f"keys present: {sorted(batch)}."
            )
        return batch[key]

    def forward(self, batch: dict[str, Any], step: str = "generator") -> dict[str, Any]:
        """Compute the losses of one step.

        Args:
            batch: for ``step="generator"`` a data batch (see the class docstring); for ``step="discriminator"``
                the ``latents`` entry returned by the generator step.
            step: ``"generator"`` or ``"discriminator"``.

        Returns:
            dict with ``loss`` (weighted scalar to backpropagate) and each unweighted term; the generator step also
            returns ``latents`` (detached real and translated features) for the discriminator step.
        """
        step = look_up_option(step, ("generator", "discriminator"))
        if step == "discriminator":
            real = self.model.discriminate(batch["real"])
            fake = self.model.discriminate(batch["fake"])
            return {"loss": discriminator_adversarial_loss(real, fake)}
        return self._generator(batch)

    def _generator(self, batch: dict[str, Any]) -> dict[str, Any]:
        image = self._get(batch, "image")
        target = batch.get(self.keys["target"], image)
        mask = batch.get(self.keys["mask"])
        feats = self.model.encode(image)
        w = self.weights
        out: dict[str, Any] = {}
        total = image.new_zeros(())
        if "reconstruction" in self.objectives:
            out["reconstruction"] = reconstruction_loss(self.model.reconstruct(feats).float(), target.float())
            total = total + w["reconstruction_weight"] * out["reconstruction"]
        if "metadata" in self.objectives:
            acq = self.model.predict_acquisition(feats).float()
            out["acquisition"] = acquisition_loss(
                acq, self._get(batch, "acquisition").float(), self._get(batch, "acquisition_valid")
            )
            out["region"] = region_loss(self.model.predict_region(feats).float(), self._get(batch, "region"))
            total = total + w["acquisition_weight"] * out["acquisition"] + w["region_weight"] * out["region"]
        if "translation" in self.objectives:
            fake = self.model.translate(feats, self.model.sample_z(image.shape[0], image.device))
            if self.remask_translation and mask is not None:
                fake = torch.where(mask.to(torch.bool), image.to(fake.dtype), fake)
            fake_feats = self.model.encode(fake)
            out["adversarial_g"] = generator_adversarial_loss(self.model.discriminate(fake_feats).float())
            total = total + w["adversarial_weight"] * out["adversarial_g"]
            if "contrastive" in self.objectives:
                out["contrastive"] = info_nce_loss(
                    self.model.project(feats).float(), self.model.project(fake_feats).float(), self.temperature
                )
                total = total + w["contrastive_weight"] * out["contrastive"]
            out["latents"] = {"real": _detached(feats), "fake": _detached(fake_feats)}
        out["loss"] = total
        return out
