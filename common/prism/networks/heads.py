"""Pretext-task heads of PRISM: the shared synthesis decoder (masked reconstruction and P-space translation) and
the latent discriminator.

Reconstruction and translation share ONE decoder (Qiu et al., section 4.2): the decoder that learns to rebuild the
image from the encoder output is the one that, modulated by a P-space code, synthesises it in another contrast.
The two paths differ only in where the P-space code comes from:

- reconstruction: the image's own code, inferred from its pooled f_seq (:class:`ReconstructionHead`);
- translation: f_p = mapping(z), z ~ N(0, I) (:class:`PSpaceTranslator`).

The decoder starts from the deepest encoder resolution (input / 32), upsamples 5 times by 2 and, at the four
intermediate resolutions, reads the encoder's shallower hidden states (skip connections), so the anatomy reaches
the output at every scale and not only through the deepest map (a single voxel for a 32^3 input).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from prism.networks.blocks import MLP, MappingNetwork, ModulatedConv3d, global_pool, group_norm

__all__ = [
    "LatentDiscriminator",
    "PSpaceTranslator",
    "ReconstructionHead",
    "StyledDecoder",
    "default_decoder_channels",
    "default_skip_channels",
]

NUM_UPSAMPLINGS = 5  # patch embedding (x2) + 4 patch mergings (x2 each)


def default_decoder_channels(latent_channels: int, minimum: int = 4) -> tuple[int, ...]:
    """Halve the width at each of the 5 upsamplings: 768 -> (384, 192, 96, 48, 24)."""
    return tuple(max(latent_channels // 2 ** (i + 1), minimum) for i in range(NUM_UPSAMPLINGS))


def default_skip_channels(feature_size: int) -> tuple[int, ...]:
    """Channels of the encoder hidden states the decoder stages 0-3 read: hidden_states[3], [2], [1], [0],
    i.e. (8F, 4F, 2F, F) at input / 16, / 8, / 4, / 2."""
    return tuple(feature_size * 2 ** (3 - i) for i in range(NUM_UPSAMPLINGS - 1))


def _check_channels(
    channels: Sequence[int], count: int = NUM_UPSAMPLINGS, name: str = "decoder_channels"
) -> tuple[int, ...]:
    if len(channels) != count or any(c < 1 for c in channels):
        raise ValueError(f"{name} needs {count} positive widths, got {tuple(channels)}.")
    return tuple(int(c) for c in channels)


class StyledDecoder(nn.Module):
    """StyleGAN2-style synthesis decoder: at each of 5 stages, trilinear upsampling by 2, concatenation of the
    encoder hidden state of that resolution (stages 0-3, when ``skip_channels`` is given), then a modulated and
    demodulated 3x3x3 convolution + LeakyReLU; a modulated 1x1x1 convolution without demodulation gives the image.
    The style modulates the skip channels too, so the contrast of the output follows the style, not the input.

    Args:
        in_channels: channels of the deepest (input / 32) conditioning map.
        out_channels: image channels.
        style_dim: width of the style vector.
        decoder_channels: widths after each upsampling (5 entries).
        skip_channels: channels of the skip maps read at stages 0-3 (4 entries, see
            :func:`default_skip_channels`), or None for no skip connections.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        style_dim: int,
        decoder_channels: Sequence[int],
        skip_channels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        widths = (in_channels, *_check_channels(decoder_channels))
        skips = (0,) * NUM_UPSAMPLINGS
        if skip_channels is not None:
            skips = (*_check_channels(skip_channels, NUM_UPSAMPLINGS - 1, "skip_channels"), 0)
        self.skip_channels = skips
        self.convs = nn.ModuleList(
            ModulatedConv3d(a + s, b, style_dim, kernel_size=3) for a, b, s in zip(widths[:-1], widths[1:], skips)
        )
        self.to_image = ModulatedConv3d(widths[-1], out_channels, style_dim, kernel_size=1, demodulate=False)

    def forward(self, x: torch.Tensor, style: torch.Tensor, skips: Sequence[torch.Tensor] = ()) -> torch.Tensor:
        """x: (B, in_channels, S/32), style: (B, style_dim), skips: maps at S/16, S/8, S/4, S/2 (as configured)
        -> image (B, out_channels, S)."""
        expected = sum(1 for s in self.skip_channels if s)
        if len(skips) != expected:
            raise ValueError(f"StyledDecoder: expected {expected} skip maps, got {len(skips)}.")
        for i, conv in enumerate(self.convs):
            x = F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False)
            if self.skip_channels[i]:
                if skips[i].shape[2:] != x.shape[2:]:
                    raise ValueError(
                        f"StyledDecoder: skip map {i} has spatial shape {tuple(skips[i].shape[2:])}, "
                        f"expected {tuple(x.shape[2:])}."
                    )
                x = torch.cat([x, skips[i].to(x.dtype)], dim=1)
            x = F.leaky_relu(conv(x, style), 0.2)
        return self.to_image(x, style)


class PSpaceTranslator(nn.Module):
    """P-space guided synthesis (Qiu et al., section 4.2), shared by translation and reconstruction.

    z ~ N(0, I) -> mapping MLP -> f_p. :meth:`synthesise` takes any P-space code f_p: f_p (broadcast over space) is
    fused with f_seq by a 1x1x1 convolution; the result is aggregated with f_ana by a 1x1x1 convolution; the
    StyleGAN2-style decoder, modulated by a style made of f_p and the pooled fused sequence code, and reading the
    encoder's shallower hidden states, synthesises the image. ``forward`` (translation) uses f_p = mapping(z);
    reconstruction uses the image's own code (:class:`ReconstructionHead`) through the same :meth:`synthesise`.

    Args:
        branch_channels: channels Cb of f_ana and f_seq.
        latent_channels: channels of the aggregated map fed to the decoder (16F).
        out_channels: image channels.
        z_dim: width of z.
        p_dim: width of f_p.
        mapping_layers: depth of the mapping MLP.
        style_dim: width of the decoder style vector.
        decoder_channels: decoder widths after each upsampling (5 entries).
        skip_channels: channels of the encoder hidden states the decoder reads (4 entries), or None for none.
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
        skip_channels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        decoder_channels = default_decoder_channels(latent_channels) if decoder_channels is None else decoder_channels
        self.z_dim = z_dim
        self.p_dim = p_dim
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
        self.decoder = StyledDecoder(latent_channels, out_channels, style_dim, decoder_channels, skip_channels)

    def synthesise(
        self, f_ana: torch.Tensor, f_seq: torch.Tensor, f_p: torch.Tensor, skips: Sequence[torch.Tensor] = ()
    ) -> torch.Tensor:
        """f_ana, f_seq: (B, Cb, S/32); f_p: (B, p_dim); skips: encoder maps at S/16 .. S/2 -> image (B, C, S)."""
        if f_p.ndim != 2 or f_p.shape != (f_seq.shape[0], self.p_dim):
            raise ValueError(f"f_p must have shape ({f_seq.shape[0]}, {self.p_dim}), got {tuple(f_p.shape)}.")
        f_p_map = f_p[:, :, None, None, None].expand(-1, -1, *f_seq.shape[2:])
        seq = self.seq_fusion(torch.cat([f_seq, f_p_map], dim=1))
        aggregated = self.ana_aggregation(torch.cat([f_ana, seq], dim=1))
        style = self.style(torch.cat([f_p, global_pool(seq)], dim=1))
        return self.decoder(aggregated, style, skips)

    def forward(
        self, f_ana: torch.Tensor, f_seq: torch.Tensor, z: torch.Tensor, skips: Sequence[torch.Tensor] = ()
    ) -> torch.Tensor:
        """Translation: f_ana, f_seq: (B, Cb, S/32); z: (B, z_dim); skips as in :meth:`synthesise`
        -> translated image (B, out_channels, S)."""
        if z.shape[0] != f_seq.shape[0]:
            raise ValueError(f"z has batch size {z.shape[0]} but the features have {f_seq.shape[0]}.")
        return self.synthesise(f_ana, f_seq, self.mapping(z), skips)


class ReconstructionHead(nn.Module):
    """The image's own P-space code for masked reconstruction: pooled f_seq -> MLP -> (B, p_dim).

    The reconstruction itself is :meth:`PSpaceTranslator.synthesise` with this code instead of a sampled f_p, so
    the reconstruction L1 trains the very decoder (and the f_ana / f_seq aggregation) that translation uses.

    Args:
        branch_channels: channels Cb of f_seq.
        p_dim: width of the P-space code.
        hidden_features: hidden widths of the MLP.
    """

    def __init__(self, branch_channels: int, p_dim: int = 256, hidden_features: Sequence[int] = (256,)) -> None:
        super().__init__()
        self.net = MLP(branch_channels, hidden_features, p_dim)

    def forward(self, f_seq: torch.Tensor) -> torch.Tensor:
        """f_seq: (B, Cb, *spatial) -> own P-space code (B, p_dim)."""
        return self.net(global_pool(f_seq))


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
