"""PRISM pretraining objectives; see :mod:`prism.losses.pretrain`."""

from __future__ import annotations

from prism.losses.pretrain import (
    acquisition_loss,
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    info_nce_loss,
    metadata_loss,
    reconstruction_loss,
    region_loss,
)

__all__ = [
    "acquisition_loss",
    "discriminator_adversarial_loss",
    "generator_adversarial_loss",
    "info_nce_loss",
    "metadata_loss",
    "reconstruction_loss",
    "region_loss",
]
