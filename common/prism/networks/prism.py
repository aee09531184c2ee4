"""PRISM pretraining network: encoder + the heads of the four pretext tasks (Qiu et al., section 4.2, Fig. 6).

A pretraining step uses it like this (losses in :mod:`prism.losses`)::

    feats = model.encode(masked)                         # EncoderFeatures
    recon = model.reconstruct(feats)                     # L1 vs. the unmasked image
    fake = model.translate(model.encode(x), model.sample_z(b))   # same decoder, sampled P-space code
    fake_feats = model.encode(fake)                      # re-encoded translation
    model.discriminate(fake_feats)                       # adversarial (generator / discriminator steps)
    model.predict_acquisition(feats), model.predict_region(feats)   # metadata loss
    info_nce(model.project(real_feats), model.project(fake_feats))  # anatomy-invariant contrast
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from prism.vocabulary import ACQUISITION_PARAMETERS, BODY_REGIONS
from prism.networks.blocks import MLP, ProjectionHead, global_pool
from prism.networks.encoder import EncoderFeatures, PrismEncoder
from prism.networks.heads import (
    LatentDiscriminator,
    PSpaceTranslator,
    ReconstructionHead,
    default_decoder_channels,
    default_skip_channels,
)

__all__ = ["PrismPretrainModel"]


class PrismPretrainModel(nn.Module):
    """PRISM: Swin encoder with anatomy / sequence disentanglement and the pretext heads.

    Data flow: ``encoder`` (:class:`PrismEncoder`) gives the 5 Swin maps, f_ana and f_seq from the deepest map,
    and their aggregation ``fused``. Then:

    - ``translator`` (P-space): the ONE synthesis decoder shared by reconstruction and translation. A P-space
      code f_p is fused with f_seq, aggregated with f_ana, and a StyleGAN2-style modulated decoder (reading the
      shallower encoder hidden states as skip connections) synthesises the image. Translation: f_p = mapping(z),
      z ~ N(0, I), an image in a sampled contrast. Reconstruction: the image's own code from ``recon_head``;
    - ``recon_head``: pooled f_seq -> the image's own P-space code (masked image reconstruction goes through the
      translator's decoder with it, so the reconstruction L1 teaches the translation decoder the anatomy);
    - ``discriminator``: pooled fused latent of a (re-)encoded image -> real/fake logit;
    - ``acquisition_head``: pooled f_seq -> normalised (TR, TE, FA);
    - ``region_head``: pooled f_ana -> body-region logits;
    - ``projection``: pooled f_ana -> L2-normalised embedding for InfoNCE (a BatchNorm projector, see
      :class:`prism.networks.blocks.ProjectionHead`).

    ``forward(x)`` returns the reconstruction, so the bundle's ``network_def`` has a plain image-to-image forward.

    Args:
        in_channels: image channels.
        feature_size, depths, num_heads, window_size, patch_size, mlp_ratio, qkv_bias, drop_rate, attn_drop_rate,
            dropout_path_rate, use_checkpoint, use_v2, branch_channels: see :class:`PrismEncoder`.
        decoder_channels: widths of the shared synthesis decoder after each of the 5 upsamplings
            (default: halve from 16F, e.g. 384, 192, 96, 48, 24 for F = 48).
        decoder_skips: let the decoder read the encoder hidden states at input / 16 .. / 2 (skip connections).
            Without them the anatomy reaches the decoder only through the deepest map (input / 32: one voxel for
            a 32^3 crop), and translations of different images hardly differ.
        z_dim: width of the P-space noise z.
        p_dim: width of f_p.
        mapping_layers: depth of the mapping MLP.
        style_dim: width of the decoder style.
        n_regions: body-region classes (default: ``len(BODY_REGIONS)``).
        proj_dim: width of the contrastive embedding.
        head_hidden: hidden width of the metadata, projection and discriminator MLPs.

    Example::

        >>> model = PrismPretrainModel(feature_size=12, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1))
        >>> feats = model.encode(torch.zeros(2, 1, 32, 32, 32))
        >>> model.translate(feats, model.sample_z(2)).shape
        torch.Size([2, 1, 32, 32, 32])
    """

    def __init__(
        self,
        in_channels: int = 1,
        feature_size: int = 48,
        depths: Sequence[int] = (2, 2, 2, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: int = 7,
        patch_size: int = 2,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        dropout_path_rate: float = 0.0,
        use_checkpoint: bool = False,
        use_v2: bool = False,
        branch_channels: int | None = None,
        decoder_channels: Sequence[int] | None = None,
        decoder_skips: bool = True,
        z_dim: int = 128,
        p_dim: int = 256,
        mapping_layers: int = 4,
        style_dim: int = 256,
        n_regions: int = len(BODY_REGIONS),
        proj_dim: int = 128,
        head_hidden: int = 256,
    ) -> None:
        super().__init__()
        if n_regions < 2:
            raise ValueError(f"n_regions must be at least 2, got {n_regions}.")
        self.in_channels = in_channels
        self.encoder = PrismEncoder(
            in_channels=in_channels,
            feature_size=feature_size,
            depths=depths,
            num_heads=num_heads,
            window_size=window_size,
            patch_size=patch_size,
            mlp_ratio=mlp_ratio,
            qkv_bias=qkv_bias,
            drop_rate=drop_rate,
            attn_drop_rate=attn_drop_rate,
            dropout_path_rate=dropout_path_rate,
            use_checkpoint=use_checkpoint,
            use_v2=use_v2,
            branch_channels=branch_channels,
        )
        latent = self.encoder.latent_channels
        branch = self.encoder.branch_channels
        decoder_channels = default_decoder_channels(latent) if decoder_channels is None else tuple(decoder_channels)
        self.decoder_skips = decoder_skips
        self.recon_head = ReconstructionHead(branch, p_dim, (head_hidden,))
        self.translator = PSpaceTranslator(
            branch_channels=branch,
            latent_channels=latent,
            out_channels=in_channels,
            z_dim=z_dim,
            p_dim=p_dim,
            mapping_layers=mapping_layers,
            style_dim=style_dim,
            decoder_channels=decoder_channels,
            skip_channels=default_skip_channels(feature_size) if decoder_skips else None,
        )
        self.discriminator = LatentDiscriminator(latent, (head_hidden, head_hidden))
        self.acquisition_head = MLP(branch, (head_hidden,), len(ACQUISITION_PARAMETERS))
        self.region_head = MLP(branch, (head_hidden,), n_regions)
        self.projection = ProjectionHead(branch, head_hidden, proj_dim)

    def encode(self, x: torch.Tensor) -> EncoderFeatures:
        """x: (B, C_in, D, H, W), sizes divisible by 32 -> :class:`EncoderFeatures`."""
        if x.ndim == 5 and x.shape[1] != self.in_channels:
            raise ValueError(f"input shape {tuple(x.shape)}: expected {self.in_channels} channel(s).")
        return self.encoder(x)

    def _skips(self, feats: EncoderFeatures) -> list[torch.Tensor]:
        """Encoder hidden states at input / 16, / 8, / 4, / 2 (decoder stages 0-3), or none."""
        return list(feats.hidden_states[3::-1]) if self.decoder_skips else []

    def reconstruct(self, feats: EncoderFeatures) -> torch.Tensor:
        """Masked-reconstruction output (B, C_in, D, H, W): the shared decoder with the image's own P-space code."""
        return self.translator.synthesise(feats.f_ana, feats.f_seq, self.recon_head(feats.f_seq), self._skips(feats))

    def sample_z(self, batch_size: int, device: torch.device | str | None = None) -> torch.Tensor:
        """Draw z ~ N(0, I) of shape (batch_size, z_dim) on ``device`` (default: the model's device)."""
        if device is None:
            device = next(self.parameters()).device
        return torch.randn(batch_size, self.translator.z_dim, device=device)

    def translate(self, feats: EncoderFeatures, z: torch.Tensor) -> torch.Tensor:
        """Image with the anatomy of ``feats`` in the contrast sampled by z (B, z_dim) -> (B, C_in, D, H, W)."""
        return self.translator(feats.f_ana, feats.f_seq, z, self._skips(feats))

    def predict_acquisition(self, feats: EncoderFeatures) -> torch.Tensor:
        """Normalised (TR, TE, FA) from f_seq: (B, 3); see :func:`prism.vocabulary.normalise_acquisition`."""
        return self.acquisition_head(global_pool(feats.f_seq))

    def predict_region(self, feats: EncoderFeatures) -> torch.Tensor:
        """Body-region logits from f_ana: (B, n_regions), classes as in ``BODY_REGIONS``."""
        return self.region_head(global_pool(feats.f_ana))

    def project(self, feats: EncoderFeatures) -> torch.Tensor:
        """L2-normalised contrastive embedding of f_ana: (B, proj_dim)."""
        return F.normalize(self.projection(global_pool(feats.f_ana)), dim=1)

    def discriminate(self, feats: EncoderFeatures) -> torch.Tensor:
        """Real/fake logits (B,) from the pooled fused latent of an encoded (real or translated) image."""
        return self.discriminator(feats.fused)

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter except the discriminator's (encoder and all heads): the generator optimizer's."""
        skip = {id(p) for p in self.discriminator.parameters()}
        return (p for p in self.parameters() if id(p) not in skip)

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        """The latent discriminator's parameters: the discriminator optimizer's."""
        return self.discriminator.parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of x: (B, C_in, D, H, W) -> (B, C_in, D, H, W)."""
        return self.reconstruct(self.encode(x))
