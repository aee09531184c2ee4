"""Plain encoders for fine-tuning (Qiu et al., section 4.3) that pretrained PRISM weights load into:

- :class:`SwinClassifier`: swinViT + pooled MLP head, for classification and regression;
- :class:`RegistrationEncoder`: swinViT reading moving and fixed images as channels, for a TransMorph-style
  registration network.

Both keep the backbone as attribute ``swinViT`` (a MONAI ``SwinTransformer`` built like SwinUNETR's), so
:func:`prism.networks.weights.load_encoder` finds and fills it. Segmentation uses MONAI's ``SwinUNETR`` directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from prism.networks.blocks import MLP, global_pool
from prism.networks.encoder import build_swin_backbone, check_input_size

__all__ = ["RegistrationEncoder", "SwinClassifier"]


class SwinClassifier(nn.Module):
    """Swin encoder + global average pooling of the deepest map + MLP head.

    Args:
        in_channels: image channels.
        num_outputs: classes (logits) or regression targets.
        feature_size, depths, num_heads, window_size, patch_size, dropout_path_rate, use_checkpoint, use_v2:
            backbone arguments, as in :class:`prism.networks.encoder.PrismEncoder`.
        hidden: hidden widths of the head.
        dropout: dropout before the head.

    Example::

        >>> tiny = {"feature_size": 12, "depths": (1, 1, 1, 1), "num_heads": (1, 1, 1, 1)}
        >>> net = SwinClassifier(in_channels=1, num_outputs=3, **tiny)
        >>> net(torch.zeros(2, 1, 32, 32, 32)).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_outputs: int = 2,
        feature_size: int = 48,
        depths: Sequence[int] = (2, 2, 2, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: int = 7,
        patch_size: int = 2,
        dropout_path_rate: float = 0.0,
        use_checkpoint: bool = False,
        use_v2: bool = False,
        hidden: Sequence[int] = (256,),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if num_outputs < 1:
            raise ValueError(f"num_outputs must be positive, got {num_outputs}.")
        self.patch_size = patch_size
        self.swinViT = build_swin_backbone(
            in_channels=in_channels,
            feature_size=feature_size,
            depths=depths,
            num_heads=num_heads,
            window_size=window_size,
            patch_size=patch_size,
            dropout_path_rate=dropout_path_rate,
            use_checkpoint=use_checkpoint,
            use_v2=use_v2,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = MLP(feature_size * 16, hidden, num_outputs)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled deepest Swin features: (B, C_in, D, H, W) -> (B, 16F)."""
        check_input_size(x.shape, self.patch_size)
        return global_pool(self.swinViT(x.contiguous(), normalize=True)[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, D, H, W) -> (B, num_outputs)."""
        return self.head(self.dropout(self.features(x)))


class RegistrationEncoder(nn.Module):
    """Swin encoder over the channel-wise concatenation of the moving and fixed image.

    A single-image checkpoint has a 1-channel patch embedding; loading it here needs an explicit channel
    adaptation (``load_encoder(..., adapt_in_channels="repeat_scaled")``), which the load report lists.

    Args:
        image_channels: channels of each of the two images (the backbone sees twice as many).
        feature_size, depths, num_heads, window_size, patch_size, dropout_path_rate, use_checkpoint, use_v2:
            backbone arguments.
    """

    def __init__(
        self,
        image_channels: int = 1,
        feature_size: int = 48,
        depths: Sequence[int] = (2, 2, 2, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window_size: int = 7,
        patch_size: int = 2,
        dropout_path_rate: float = 0.0,
        use_checkpoint: bool = False,
        use_v2: bool = False,
    ) -> None:
        super().__init__()
        self.image_channels = image_channels
        self.patch_size = patch_size
        self.swinViT = build_swin_backbone(
            in_channels=2 * image_channels,
            feature_size=feature_size,
            depths=depths,
            num_heads=num_heads,
            window_size=window_size,
            patch_size=patch_size,
            dropout_path_rate=dropout_path_rate,
            use_checkpoint=use_checkpoint,
            use_v2=use_v2,
        )

    def forward(self, moving: torch.Tensor, fixed: torch.Tensor) -> list[torch.Tensor]:
        """moving, fixed: (B, image_channels, D, H, W) -> the 5 Swin maps (B, F*2^i, S/2^(i+1)), i = 0..4."""
        if moving.shape != fixed.shape or moving.shape[1] != self.image_channels:
            raise ValueError(
                f"moving {tuple(moving.shape)} and fixed {tuple(fixed.shape)} must have the same shape with "
                f"{self.image_channels} channel(s)."
            )
        x = torch.cat([moving, fixed], dim=1)
        check_input_size(x.shape, self.patch_size)
        return self.swinViT(x.contiguous(), normalize=True)
