"""Small building blocks shared by the PRISM heads: normalisation, pooling, MLPs and StyleGAN2-style
modulated 3D convolutions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["MLP", "MappingNetwork", "ModulatedConv3d", "ProjectionHead", "global_pool", "group_norm"]


def group_norm(channels: int, max_groups: int = 8) -> nn.GroupNorm:
    """GroupNorm with the largest group count <= ``max_groups`` that divides ``channels``.

    GroupNorm (not InstanceNorm) because the deepest Swin stage is a single voxel for a 32^3 input,
    where instance statistics are undefined.
    """
    return nn.GroupNorm(math.gcd(channels, max_groups), channels)


def global_pool(x: torch.Tensor) -> torch.Tensor:
    """Average over all spatial positions: (B, C, *spatial) -> (B, C)."""
    return x.flatten(start_dim=2).mean(dim=2)


class MLP(nn.Sequential):
    """Linear layers with LeakyReLU between them (none after the last one).

    Args:
        in_features: input width.
        hidden_features: widths of the hidden layers (may be empty: a single linear layer).
        out_features: output width.
    """

    def __init__(self, in_features: int, hidden_features: Sequence[int], out_features: int) -> None:
        widths = [in_features, *hidden_features, out_features]
        layers: list[nn.Module] = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2:
                layers.append(nn.LeakyReLU(0.2))
        super().__init__(*layers)


class ProjectionHead(nn.Module):
    """Contrastive projector: Linear -> BatchNorm1d -> LeakyReLU -> Linear (as in SimCLR / MoCo v3 projectors).

    The BatchNorm centres the batch: at initialisation the pooled deepest features of different images share a
    dominant common component (cosine similarity ~0.99), and without centring InfoNCE at tau = 0.1 drives the
    encoder to the collapsed solution (every embedding equal, loss log(2B - 1)) instead of separating images.
    A single image in training mode (no batch to centre on) uses the running statistics.

    Args:
        in_features: input width.
        hidden_features: hidden width.
        out_features: embedding width.
    """

    def __init__(self, in_features: int, hidden_features: int, out_features: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.norm = nn.BatchNorm1d(hidden_features)
        self.out = nn.Linear(hidden_features, out_features)
        self.out_features = out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in_features) -> (B, out_features), not normalised."""
        h = self.hidden(x)
        if self.training and h.shape[0] < 2:
            n = self.norm
            h = F.batch_norm(h, n.running_mean, n.running_var, n.weight, n.bias, training=False, eps=n.eps)
        else:
            h = self.norm(h)
        return self.out(F.leaky_relu(h, 0.2))


class MappingNetwork(nn.Module):
    """StyleGAN mapping MLP: z ~ N(0, I) -> f_p, a point of the acquisition-parameter space (P-space).

    ``z`` is pixel-normalised (unit root-mean-square) first, as in StyleGAN, so its scale does not matter.

    Args:
        z_dim: width of z.
        p_dim: width of f_p.
        num_layers: number of linear layers (>= 1).
    """

    def __init__(self, z_dim: int = 128, p_dim: int = 256, num_layers: int = 4) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
        layers: list[nn.Module] = []
        for i in range(num_layers):
            layers += [nn.Linear(z_dim if i == 0 else p_dim, p_dim), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)
        self.z_dim = z_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, z_dim) -> f_p: (B, p_dim)."""
        if z.ndim != 2 or z.shape[1] != self.z_dim:
            raise ValueError(f"z must have shape (batch, {self.z_dim}), got {tuple(z.shape)}.")
        z = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        return self.net(z)


class ModulatedConv3d(nn.Module):
    """3D convolution whose weights are scaled per sample by a style vector (StyleGAN2, Karras et al. 2020,
    "Analyzing and Improving the Image Quality of StyleGAN", eq. 1-3), then optionally demodulated so that
    each output channel has unit expected variance. Implemented as a grouped convolution over the batch.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        style_dim: width of the style vector.
        kernel_size: cubic kernel size (odd).
        demodulate: normalise the modulated weights (False for the final to-image layer).
    """

    def __init__(
        self, in_channels: int, out_channels: int, style_dim: int, kernel_size: int = 3, demodulate: bool = True
    ) -> None:
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}.")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.demodulate = demodulate
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = 1.0 / math.sqrt(in_channels * kernel_size**3)
        # style -> per-input-channel scale, centred on 1 (bias 1) as in StyleGAN2.
        self.affine = nn.Linear(style_dim, in_channels)
        nn.init.ones_(self.affine.bias)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """x: (B, in_channels, D, H, W), style: (B, style_dim) -> (B, out_channels, D, H, W)."""
        b = x.shape[0]
        s = self.affine(style)  # (B, in)
        w = self.scale * self.weight[None] * s[:, None, :, None, None, None]  # (B, out, in, k, k, k)
        if self.demodulate:
            w = w * torch.rsqrt(w.pow(2).sum(dim=(2, 3, 4, 5), keepdim=True) + 1e-8)
        w = w.reshape(b * self.out_channels, self.in_channels, *w.shape[3:])
        out = F.conv3d(x.reshape(1, b * self.in_channels, *x.shape[2:]), w, padding=self.kernel_size // 2, groups=b)
        return out.reshape(b, self.out_channels, *out.shape[2:]) + self.bias[None, :, None, None, None]
