"""The four PRISM pretraining objectives (Qiu et al., section 4.2).

- masked image reconstruction: :func:`reconstruction_loss` (L1);
- P-space translation with a latent discriminator: :func:`generator_adversarial_loss`,
  :func:`discriminator_adversarial_loss` (non-saturating GAN loss, softplus form);
- metadata prediction: :func:`acquisition_loss` (masked L1 on normalised TR/TE/FA), :func:`region_loss`
  (cross-entropy with an ignore index), combined by :func:`metadata_loss`;
- anatomy-invariant contrastive learning: :func:`info_nce_loss`.

Every loss returns a scalar tensor that is part of the autograd graph, also when nothing is supervised
(all targets missing): then it is exactly 0, never NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from prism.vocabulary import REGION_IGNORE_INDEX

__all__ = [
    "acquisition_loss",
    "discriminator_adversarial_loss",
    "generator_adversarial_loss",
    "info_nce_loss",
    "metadata_loss",
    "reconstruction_loss",
    "region_loss",
]


def _zero(t: torch.Tensor) -> torch.Tensor:
    """A zero that keeps ``t`` in the graph (so backward() works and gives zero gradients)."""
    return t.sum() * 0.0


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error between a reconstruction and the original (unmasked) image.

    Args:
        pred: reconstruction (B, C, D, H, W).
        target: original image, same shape.
        mask: optional weights broadcastable to ``pred`` (e.g. (B, 1, D, H, W), 1 inside the masked cubes) to
            restrict the loss to some voxels; None averages over all voxels, as in the paper.

    Returns:
        scalar; 0 (in the graph) when ``mask`` selects nothing.
    """
    if pred.shape != target.shape:
        raise ValueError(f"reconstruction shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}.")
    error = (pred - target).abs()
    if mask is None:
        return error.mean()
    weights = mask.to(error.dtype).expand_as(error)
    total = weights.sum()
    if total == 0:
        return _zero(pred)
    return (error * weights).sum() / total


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss, mean softplus(-D(fake)): the translator wants its re-encoded images judged real.

    Args:
        fake_logits: discriminator logits (B,) of re-encoded translations.
    """
    return F.softplus(-fake_logits).mean()


def discriminator_adversarial_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss, mean softplus(-D(real)) + mean softplus(D(fake)). Detach the fakes' features first.

    Args:
        real_logits: logits (B,) of real images' latents.
        fake_logits: logits (B',) of translated images' latents.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def acquisition_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """L1 on normalised (TR, TE, FA) over the known values only; a missing value contributes nothing.

    Args:
        pred: (B, 3) from ``PrismPretrainModel.predict_acquisition``.
        target: (B, 3) from :func:`prism.vocabulary.normalise_acquisition` (any value where invalid,
            even NaN: it is never read).
        valid: (B, 3) bool, False where the value is missing.

    Returns:
        scalar mean over the valid entries; 0 in the graph when none is valid.
    """
    if pred.shape != target.shape or pred.shape != valid.shape:
        raise ValueError(
            f"acquisition pred {tuple(pred.shape)}, target {tuple(target.shape)} and valid {tuple(valid.shape)} "
            "must have the same shape (B, 3)."
        )
    valid = valid.to(torch.bool)
    n_valid = int(valid.sum())
    if n_valid == 0:
        return _zero(pred)
    # where() (not multiplication by the mask) so a NaN in a missing target cannot leak into value or gradient.
    error = torch.where(valid, (pred - torch.where(valid, target, pred.detach())).abs(), torch.zeros_like(pred))
    return error.sum() / n_valid


def region_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = REGION_IGNORE_INDEX) -> torch.Tensor:
    """Cross-entropy of body-region logits (B, n_regions) against class indices (B,); ``ignore_index`` (unknown
    region) contributes nothing. 0 in the graph when every target is unknown."""
    target = target.to(torch.long)
    if not (target != ignore_index).any():
        return _zero(logits)
    return F.cross_entropy(logits, target, ignore_index=ignore_index)


def metadata_loss(
    acq_pred: torch.Tensor,
    acq_target: torch.Tensor,
    acq_valid: torch.Tensor,
    region_logits: torch.Tensor,
    region_target: torch.Tensor,
    region_weight: float = 1.0,
    ignore_index: int = REGION_IGNORE_INDEX,
) -> torch.Tensor:
    """:func:`acquisition_loss` + ``region_weight`` * :func:`region_loss` (shapes as there)."""
    return acquisition_loss(acq_pred, acq_target, acq_valid) + region_weight * region_loss(
        region_logits, region_target, ignore_index
    )


def info_nce_loss(anchor: torch.Tensor, positive: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """Anatomy-invariant InfoNCE (paper eq. 1), symmetric.

    Item i's positive is the projection of its own translation; its negatives are the other items of the batch,
    both their originals and their translations (other subjects and other sequences).

    Args:
        anchor: L2-normalised projections of f_ana of the images, (B, P).
        positive: L2-normalised projections of f_ana of their translations, (B, P).
        temperature: softmax temperature tau (> 0).

    Returns:
        scalar; 0 (in the graph) for B = 1, where there are no negatives.
    """
    if anchor.shape != positive.shape or anchor.ndim != 2:
        raise ValueError(f"anchor {tuple(anchor.shape)} and positive {tuple(positive.shape)} must both be (B, P).")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}.")
    b = anchor.shape[0]
    if b < 2:
        return _zero(anchor) + _zero(positive)
    eye = torch.eye(b, dtype=torch.bool, device=anchor.device)
    labels = torch.arange(b, device=anchor.device)
    losses = []
    for a, p in ((anchor, positive), (positive, anchor)):
        cross = a @ p.t() / temperature  # diagonal: positives; off-diagonal: other items' twins
        same = (a @ a.t() / temperature).masked_fill(eye, float("-inf"))  # other items' own views
        losses.append(F.cross_entropy(torch.cat([cross, same], dim=1), labels))
    return 0.5 * (losses[0] + losses[1])
