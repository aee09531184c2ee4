"""Pretext-task heads of PRISM: masked-reconstruction decoder, P-space translator and latent discriminator.

All decoders start from the deepest encoder resolution (input / 32) and upsample 5 times by 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from prism.networks.blocks import MLP, MappingNetwork, ModulatedConv3d, global_pool, group_norm

__all__ = ["LatentDiscriminator", "PSpaceTranslator", "ReconstructionHead", "StyledDecoder", "default_decoder_channels"]

NUM_UPSAMPLINGS = 5  # patch embedding (x2) + 4 patch mergings (x2 each)


def default_decoder_channels(latent_channels: int, minimum: int = 4) -> tuple[int, ...]:
    """Halve the width at each of the 5 upsamplings: 768 -> (384, 192, 96, 48, 24)."""
    return tuple(max(latent_channels // 2 ** (i + 1), minimum) for i in range(NUM_UPSAMPLINGS))


def _check_channels(channels: Sequence[int]) -> tuple[int, ...]:
    if len(channels) != NUM_UPSAMPLINGS or any(c < 1 for c in channels):
        raise ValueError(f"decoder_channels needs {NUM_UPSAMPLINGS} positive widths, got {tuple(channels)}.")
    return tuple(int(c) for c in channels)


class ReconstructionHead(nn.Module):
    """Light decoder for masked image reconstruction: 5 transposed convolutions (kernel 2, stride 2) with
    GroupNorm + LeakyReLU, then a 1x1x1 convolution to the image channels.

    Args:
        latent_channels: channels of the fused encoder map (16F).
        out_channels: image channels.
        decoder_channels: widths after each upsampling (5 entries).
    """

    def __init__(self, latent_channels: int, out_channels: int, decoder_channels: Sequence[int]) -> None:
        super().__init__()
        widths = (latent_channels, *_check_channels(decoder_channels))
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose3d(c_in, c_out, kernel_size=2, stride=2), group_norm(c_out), nn.LeakyReLU(0.2)]
        layers.append(nn.Conv3d(widths[-1], out_channels, kernel_size=1))
        self.net = nn.Sequential(*layers)

    def forward(self, fused: torch.Tensor) -> torch.Tensor:
        """fused: (B, 16F, S/32) -> image (B, out_channels, S)."""
        return self.net(fused)


class StyledDecoder(nn.Module):
    """StyleGAN2-style synthesis decoder: at each of 5 stages, trilinear upsampling by 2, then a modulated and
    demodulated 3x3x3 convolution + LeakyReLU; a modulated 1x1x1 convolution without demodulation gives the image.

    Args:
        in_channels: channels of the aggregated feature map.
        out_channels: image channels.
        style_dim: width of the style vector.
        decoder_channels: widths after each upsampling (5 entries).
    """

    def __init__(self, in_channels: int, out_channels: int, style_dim: int, decoder_channels: Sequence[int]) -> None:
        super().__init__()
        widths = (in_channels, *_check_channels(decoder_channels))
        self.convs = nn.ModuleList(
            ModulatedConv3d(a, b, style_dim, kernel_size=3) for a, b in zip(widths[:-1], widths[1:])
        )
        self.to_image = ModulatedConv3d(widths[-1], out_channels, style_dim, kernel_size=1, demodulate=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x: (B, in_channels, S/32), style: (B, style_dim) -> image (B, out_channels, S)."""
        for conv in self.convs:
            x = F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False)
            x = F.leaky_relu(conv(x, style), 0.2)
        return self.to_image(x, style)


class PSpaceTranslator(nn.Module):
    """P-space guided cross-sequence translation (Qiu et al., section 4.2).

    z ~ N(0, I) -> mapping MLP -> f_p; f_p (broadcast over space) is fused with f_seq by a 1x1x1 convolution;
    the result is aggregated with f_ana by a 1x1x1 convolution; a StyleGAN2-style decoder, modulated by a style made
    of f_p and the pooled fused sequence code, synthesises the image in the sampled contrast.

    Args:
        branch_channels: channels Cb of f_ana and f_seq.
        latent_channels: channels of the aggregated map fed to the decoder (16F).
        out_channels: image channels.
        z_dim: width of z.
        p_dim: width of f_p.
        mapping_layers: depth of the mapping MLP.
        style_dim: width of the decoder style vector.
        decoder_channels: decoder widths after each upsampling (5 entries).
    """

    def __init__(
        self,
        branch_channels: int,
        latent_channels: int,
        out_channels: int,
        z_dim: int = 128,
        p_dim: int = 256,
        mapping_layers: int = 4,
        style_dim: int = 256,
        decoder_channels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        decoder_channels = default_decoder_channels(latent_channels) if decoder_channels is None else decoder_channels
        self.z_dim = z_dim
        self.mapping = MappingNetwork(z_dim=z_dim, p_dim=p_dim, num_layers=mapping_layers)
        self.seq_fusion = nn.Sequential(
            nn.Conv3d(branch_channels + p_dim, branch_channels, kernel_size=1),
            group_norm(branch_channels),
            nn.LeakyReLU(0.2),
        )
        self.ana_aggregation = nn.Sequential(
            nn.Conv3d(2 * branch_channels, latent_channels, kernel_size=1),
            group_norm(latent_channels),
            nn.LeakyReLU(0.2),
        )
        self.style = nn.Linear(p_dim + branch_channels, style_dim)
        self.decoder = StyledDecoder(latent_channels, out_channels, style_dim, decoder_channels)

    def forward(self, f_ana: torch.Tensor, f_seq: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """f_ana, f_seq: (B, Cb, S/32); z: (B, z_dim) -> translated image (B, out_channels, S)."""
        if z.shape[0] != f_seq.shape[0]:
            raise ValueError(f"z has batch size {z.shape[0]} but the features have {f_seq.shape[0]}.")
        f_p = self.mapping(z)
        f_p_map = f_p[:, :, None, None, None].expand(-1, -1, *f_seq.shape[2:])
        seq = self.seq_fusion(torch.cat([f_seq, f_p_map], dim=1))
        aggregated = self.ana_aggregation(torch.cat([f_ana, seq], dim=1))
        style = self.style(torch.cat([f_p, global_pool(seq)], dim=1))
        return self.decoder(aggregated, style)


class LatentDiscriminator(nn.Module):
    """Judges whether a pooled encoder latent comes from a real or a translated image.

    Args:
        in_features: width of the pooled latent (16F).
        hidden_features: hidden widths of the MLP.
    """

    def __init__(self, in_features: int, hidden_features: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        self.net = MLP(in_features, hidden_features, 1)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """latent: (B, C, *spatial) or (B, C) -> logits (B,)."""
        pooled = global_pool(latent) if latent.ndim > 2 else latent
        return self.net(pooled).squeeze(1)
