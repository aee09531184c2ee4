"""Inference with a pretrained PRISM network: encoder features and synthesis in a requested contrast.

Features: :class:`PrismFeatureExtractor` returns, per image, the pooled anatomy and sequence features, the pooled
fused latent, the contrastive embedding, the predicted TR/TE/flip angle and body-region probabilities.

Contrast synthesis (:func:`synthesize_contrast`). PRISM's translator is driven by a P-space sample
``z ~ N(0, I)``, not by TR/TE/FA directly. A requested contrast is reached by inverting the metadata head: the
synthesised image is re-encoded and its predicted (normalised) TR/TE/FA compared with the request, and ``z`` is
the maximum a posteriori estimate::

    z* = argmin_z  |acq(encode(translate(feats, z))) - acq_target|_1  +  prior_weight * |z|^2 / z_dim

(the N(0, I) prior keeps z where the translator was trained). It starts from the best of ``candidates`` random
draws and refines with Adam; the network's weights are not changed. Only the requested parameters enter the
loss (e.g. TR and TE without a flip angle). The result is as faithful as the metadata head is on translated
images: the achieved TR/TE/FA (as the head reads them) are returned so a caller can judge it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from ignite.engine import Engine, Events
from monai.transforms import MapTransform

from prism.bundle.checkpoint import atomic_save
from prism.vocabulary import denormalise_acquisition, normalise_acquisition
from prism.networks.blocks import global_pool

__all__ = ["synthesize_contrast", "PrismFeatureExtractor", "PredictionToKeysd", "FeatureWriter"]

logger = logging.getLogger(__name__)


def synthesize_contrast(
    model: nn.Module,
    image: torch.Tensor,
    tr: float | None = None,
    te: float | None = None,
    flip_angle: float | None = None,
    steps: int = 30,
    lr: float = 0.05,
    prior_weight: float = 0.01,
    candidates: int = 8,
) -> dict[str, torch.Tensor]:
    """Translate ``image`` into the contrast of the requested TR (ms), TE (ms) and flip angle (degrees).

    Args:
        model: a :class:`prism.networks.PrismPretrainModel`.
        image: (B, 1, D, H, W), sizes divisible by 32, normalised like the training data.
        tr, te, flip_angle: requested acquisition parameters; None leaves one free (at least one is needed).
        steps: Adam steps refining z.
        lr: Adam learning rate on z.
        prior_weight: weight of the Gaussian prior on z.
        candidates: random z draws to start from (the best one is refined).

    Returns:
        dict with ``synthesis`` (B, 1, D, H, W), ``z`` (B, z_dim), ``achieved`` (B, 3) TR ms / TE ms / FA deg read
        by the metadata head from the synthesis, and ``error`` (B,) the final normalised L1 mismatch.

    Raises:
        ValueError: when no parameter is requested or a value is negative/infinite.
    """
    if tr is None and te is None and flip_angle is None:
        raise ValueError("synthesize_contrast: request at least one of tr, te, flip_angle.")
    target, valid = normalise_acquisition(tr, te, flip_angle)
    target = target.to(image.device).expand(image.shape[0], 3)
    valid = valid.to(image.device).expand(image.shape[0], 3)
    was_training = model.training
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        with torch.enable_grad():
            feats = model.encode(image)

            def mismatch(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
                fake = model.translate(feats, z)
                acq = model.predict_acquisition(model.encode(fake))
                err = torch.where(valid, (acq - target).abs(), torch.zeros_like(acq)).sum(1) / valid.sum(1)
                return err, fake, acq

            with torch.no_grad():
                best_z = model.sample_z(image.shape[0], image.device)
                best_err = mismatch(best_z)[0]
                for _ in range(max(0, candidates - 1)):
                    z = model.sample_z(image.shape[0], image.device)
                    err = mismatch(z)[0]
                    better = err < best_err
                    best_z = torch.where(better[:, None], z, best_z)
                    best_err = torch.where(better, err, best_err)
            z = best_z.clone().requires_grad_(True)
            opt = torch.optim.Adam([z], lr=lr)
            for _ in range(steps):
                err = mismatch(z)[0]
                loss = err.sum() + prior_weight * (z**2).mean(1).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                err, fake, acq = mismatch(z)
    finally:
        for p in params:
            p.requires_grad_(True)
        model.train(was_training)
    achieved = torch.stack(denormalise_acquisition(acq.detach()), dim=-1)
    return {"synthesis": fake.detach(), "z": z.detach(), "achieved": achieved, "error": err.detach()}


class PrismFeatureExtractor(nn.Module):
    """Wrap a PRISM pretraining model for inference: image -> dict of features (and optionally a synthesis).

    ``forward(x)`` with x (B, 1, D, H, W) returns:
    ``f_ana`` (B, Cb) and ``f_seq`` (B, Cb) pooled branch features, ``embedding`` (B, 16F) pooled fused latent,
    ``projection`` (B, P) contrastive embedding, ``acquisition`` (B, 3) predicted TR ms / TE ms / FA deg,
    ``region_probs`` (B, n_regions); with ``synthesize=True`` also ``synthesis`` (B, 1, D, H, W) and
    ``synthesis_acquisition`` (B, 3), see :func:`synthesize_contrast`.

    Args:
        model: a :class:`prism.networks.PrismPretrainModel`.
        synthesize: also synthesise each image in the requested contrast.
        target_tr, target_te, target_flip_angle: the requested contrast (ms, ms, degrees; None = free).
        synthesis_steps, synthesis_candidates: see :func:`synthesize_contrast`.

    Raises:
        ValueError: when ``synthesize`` is on without any target parameter.
    """

    def __init__(
        self,
        model: nn.Module,
        synthesize: bool = False,
        target_tr: float | None = None,
        target_te: float | None = None,
        target_flip_angle: float | None = None,
        synthesis_steps: int = 30,
        synthesis_candidates: int = 8,
    ) -> None:
        super().__init__()
        if synthesize and target_tr is None and target_te is None and target_flip_angle is None:
            raise ValueError("PrismFeatureExtractor: synthesize=True needs target_tr, target_te or target_flip_angle.")
        self.model = model
        self.synthesize = synthesize
        self.target = (target_tr, target_te, target_flip_angle)
        self.synthesis_steps = synthesis_steps
        self.synthesis_candidates = synthesis_candidates

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.model.encode(x)
        out = {
            "f_ana": global_pool(feats.f_ana),
            "f_seq": global_pool(feats.f_seq),
            "embedding": global_pool(feats.fused),
            "projection": self.model.project(feats),
            "acquisition": torch.stack(denormalise_acquisition(self.model.predict_acquisition(feats)), dim=-1),
            "region_probs": F.softmax(self.model.predict_region(feats), dim=1),
        }
        if self.synthesize:
            tr, te, fa = self.target
            syn = synthesize_contrast(
                self.model, x, tr, te, fa, steps=self.synthesis_steps, candidates=self.synthesis_candidates
            )
            out["synthesis"] = syn["synthesis"]
            out["synthesis_acquisition"] = syn["achieved"]
        return out


class PredictionToKeysd(MapTransform):
    """Move the entries of a dict prediction (``d[key]``) to top-level keys, so MONAI transforms (``Invertd``,
    ``SaveImaged``) can address e.g. ``synthesis``. Top-level keys already present are not overwritten."""

    def __init__(self, keys: Sequence[Hashable] | Hashable = "pred", allow_missing_keys: bool = False) -> None:
        super().__init__(keys, allow_missing_keys)

    def __call__(self, data: Mapping[Hashable, Any]) -> dict[Hashable, Any]:
        d = dict(data)
        for key in self.key_iterator(d):
            pred = d.pop(key)
            if not isinstance(pred, Mapping):
                raise ValueError(f"PredictionToKeysd: d[{key!r}] should be a dict, got {type(pred).__name__}.")
            for name, value in pred.items():
                if name in d:
                    raise ValueError(f"PredictionToKeysd: key {name!r} of d[{key!r}] already exists in the data.")
                d[name] = value
        return d


def _plain(value: Any) -> torch.Tensor:
    """A plain CPU float tensor (MetaTensor stripped, so the file loads with ``weights_only=True``)."""
    value = value.as_tensor() if hasattr(value, "as_tensor") else torch.as_tensor(value)
    return value.detach().cpu().float().clone()


class FeatureWriter:
    """Write each image's features to ``<output_dir>/<image stem>_features.pt`` (plain tensors, weights_only-safe).

    Reads the decollated evaluator output (a list of per-image dicts after :class:`PredictionToKeysd`).

    Args:
        output_dir: output folder.
        keys: feature keys to write.
        image_key: key of the input image (its ``filename_or_obj`` meta names the file).
    """

    def __init__(
        self,
        output_dir: str | os.PathLike,
        keys: Sequence[str] = (
            "f_ana", "f_seq", "embedding", "projection", "acquisition", "region_probs", "synthesis_acquisition",
        ),
        image_key: str = "image",
    ) -> None:
        self.output_dir = Path(output_dir)
        self.keys = tuple(keys)
        self.image_key = image_key

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        outputs = engine.state.output if isinstance(engine.state.output, list) else [engine.state.output]
        for i, item in enumerate(outputs):
            image = item.get(self.image_key)
            meta = getattr(image, "meta", {}) or {}
            name = Path(str(meta.get("filename_or_obj", f"iter{engine.state.iteration}_{i}"))).name
            stem = name[: -len(".nii.gz")] if name.endswith(".nii.gz") else Path(name).stem
            record: dict[str, Any] = {k: _plain(item[k]) for k in self.keys if k in item}
            record["source"] = str(meta.get("filename_or_obj", ""))
            path = atomic_save(record, self.output_dir / f"{stem}_features.pt")
            logger.info("wrote features %s", path)
