"""The PRISM encoder: MONAI's Swin Transformer backbone plus the dual-branch disentanglement.

Data flow (Qiu et al., section 4.2, Fig. 6)::

    image (B, C_in, D, H, W)
      -> swinViT (MONAI SwinTransformer, same construction and state-dict keys as SwinUNETR.swinViT)
      -> hidden_states: 5 maps, (B, F*2^i, D/2^(i+1), ...) for i = 0..4, F = feature_size
      -> deepest map h4 (B, 16F, D/32, H/32, W/32)
           -> anatomy branch   f_ana (B, Cb, D/32, ...)  sequence-invariant content
           -> sequence branch  f_seq (B, Cb, D/32, ...)  acquisition-dependent contrast
      -> fused = h4 + aggregate(cat(f_ana, f_seq))  (B, 16F, D/32, ...), the map the decoders read

The heads of :class:`prism.networks.prism.PrismPretrainModel` then read: one shared style-modulated decoder
(f_ana, f_seq fused with a style code, and hidden_states[3..0] as skips) gives the reconstruction (style from the
image's own f_seq) and the translation (style from a sampled f_p); TR/TE/FA <- f_seq; body region and contrastive
projection <- f_ana; latent discriminator <- pooled fused of a (re-)encoded image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
from monai.networks.nets.swin_unetr import SwinTransformer
from monai.utils import ensure_tuple_rep

from prism.networks.blocks import group_norm

__all__ = ["EncoderFeatures", "PrismEncoder", "build_swin_backbone", "check_input_size"]


def build_swin_backbone(
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
) -> SwinTransformer:
    """Build the Swin backbone exactly as ``monai.networks.nets.SwinUNETR`` builds its ``swinViT`` (3D, LayerNorm,
    no patch norm, "merging" downsampling), so state-dict keys and shapes match ``SwinUNETR.swinViT``.

    Raises:
        ValueError: on rates outside [0, 1], ``feature_size`` not divisible by 12 (SwinUNETR's rule, kept so
            every PRISM encoder loads into a SwinUNETR), or ``depths``/``num_heads`` not of length 4.
    """
    for name, rate in (
        ("drop_rate", drop_rate),
        ("attn_drop_rate", attn_drop_rate),
        ("dropout_path_rate", dropout_path_rate),
    ):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} should be between 0 and 1, got {rate}.")
    if feature_size % 12 != 0:
        raise ValueError(f"feature_size should be divisible by 12 (as in SwinUNETR), got {feature_size}.")
    if len(depths) != 4 or len(num_heads) != 4:
        raise ValueError(f"depths and num_heads need 4 entries (one per Swin stage), got {depths} and {num_heads}.")
    for stage, heads in enumerate(num_heads):
        if (feature_size * 2**stage) % heads != 0:
            raise ValueError(
                f"stage {stage} width {feature_size * 2**stage} is not divisible by num_heads[{stage}]={heads}."
            )
    return SwinTransformer(
        in_chans=in_channels,
        embed_dim=feature_size,
        window_size=ensure_tuple_rep(window_size, 3),
        patch_size=ensure_tuple_rep(patch_size, 3),
        depths=tuple(depths),
        num_heads=tuple(num_heads),
        mlp_ratio=mlp_ratio,
        qkv_bias=qkv_bias,
        drop_rate=drop_rate,
        attn_drop_rate=attn_drop_rate,
        drop_path_rate=dropout_path_rate,
        norm_layer=nn.LayerNorm,
        patch_norm=False,
        use_checkpoint=use_checkpoint,
        spatial_dims=3,
        downsample="merging",
        use_v2=use_v2,
    )


def check_input_size(shape: Sequence[int], patch_size: int = 2) -> None:
    """Raise ValueError unless every spatial size of ``shape`` (B, C, D, H, W) is divisible by patch_size * 2^4."""
    factor = patch_size * 2**4
    if len(shape) != 5:
        raise ValueError(f"expected a 5D input (batch, channel, D, H, W), got shape {tuple(shape)}.")
    wrong = [int(s) for s in shape[2:] if int(s) % factor != 0]
    if wrong:
        raise ValueError(
            f"input shape {tuple(int(s) for s in shape)}: spatial sizes {wrong} are not divisible by {factor} "
            f"(patch size {patch_size} x 4 downsamplings); crop or pad to a multiple of {factor}, e.g. 96^3."
        )


@dataclass
class EncoderFeatures:
    """What :class:`PrismEncoder` returns.

    Attributes:
        hidden_states: the 5 Swin maps, ``hidden_states[i]`` of shape (B, F*2^i, S/2^(i+1)) for S the input size;
            identical to ``SwinUNETR.swinViT(x, normalize=True)``.
        f_ana: anatomy features, (B, Cb, S/32).
        f_seq: sequence features, (B, Cb, S/32).
        fused: f_ana and f_seq aggregated back onto the deepest map, (B, 16F, S/32).
    """

    hidden_states: list[torch.Tensor]
    f_ana: torch.Tensor
    f_seq: torch.Tensor
    fused: torch.Tensor


def _branch(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, kernel_size=1), group_norm(out_channels), nn.LeakyReLU(0.2)
    )


class PrismEncoder(nn.Module):
    """Swin Transformer encoder with PRISM's dual-branch disentanglement (Qiu et al., section 4.2).

    See the module docstring for the data flow. ``swinViT`` is a MONAI ``SwinTransformer`` built like
    ``SwinUNETR.swinViT``; its weights move to and from SwinUNETR unchanged (:mod:`prism.networks.weights`).

    Args:
        in_channels: image channels.
        feature_size: Swin embedding width F (divisible by 12); the deepest map has 16F channels.
        depths: Swin blocks per stage (4 entries).
        num_heads: attention heads per stage (4 entries).
        window_size: attention window.
        patch_size: patch-embedding stride; inputs must be divisible by patch_size * 16.
        mlp_ratio, qkv_bias, drop_rate, attn_drop_rate, dropout_path_rate, use_checkpoint, use_v2: as in SwinUNETR.
        branch_channels: width Cb of f_ana and f_seq (default 16F, the deepest width).

    Example::

        >>> enc = PrismEncoder(feature_size=12, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1))
        >>> feats = enc(torch.zeros(1, 1, 32, 32, 32))
        >>> feats.f_ana.shape
        torch.Size([1, 192, 1, 1, 1])
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
    ) -> None:
        super().__init__()
        latent = feature_size * 16
        branch_channels = latent if branch_channels is None else branch_channels
        if branch_channels < 1:
            raise ValueError(f"branch_channels must be positive, got {branch_channels}.")
        self.config = {
            "in_channels": in_channels,
            "feature_size": feature_size,
            "depths": [int(d) for d in depths],
            "num_heads": [int(h) for h in num_heads],
            "window_size": window_size,
            "patch_size": patch_size,
            "mlp_ratio": mlp_ratio,
            "qkv_bias": qkv_bias,
            "use_v2": use_v2,
            "branch_channels": branch_channels,
        }
        self.patch_size = patch_size
        self.latent_channels = latent
        self.branch_channels = branch_channels
        self.swinViT = build_swin_backbone(
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
        )
        self.ana_branch = _branch(latent, branch_channels)
        self.seq_branch = _branch(latent, branch_channels)
        self.aggregate = nn.Sequential(
            nn.Conv3d(2 * branch_channels, latent, kernel_size=1), group_norm(latent), nn.LeakyReLU(0.2)
        )

    def disentangle(self, latent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Deepest map (B, 16F, ...) -> (f_ana, f_seq), each (B, Cb, ...)."""
        return self.ana_branch(latent), self.seq_branch(latent)

    def fuse(self, latent: torch.Tensor, f_ana: torch.Tensor, f_seq: torch.Tensor) -> torch.Tensor:
        """Aggregate f_ana and f_seq back onto the deepest map (residual): -> (B, 16F, ...)."""
        return latent + self.aggregate(torch.cat([f_ana, f_seq], dim=1))

    def forward(self, x: torch.Tensor) -> EncoderFeatures:
        """x: (B, C_in, D, H, W), each of D, H, W divisible by 32 (patch 2) -> :class:`EncoderFeatures`."""
        if not torch.jit.is_tracing():
            check_input_size(x.shape, self.patch_size)
        hidden_states = self.swinViT(x.contiguous(), normalize=True)
        f_ana, f_seq = self.disentangle(hidden_states[-1])
        return EncoderFeatures(hidden_states, f_ana, f_seq, self.fuse(hidden_states[-1], f_ana, f_seq))
