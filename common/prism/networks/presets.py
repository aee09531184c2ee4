"""Size presets of the PRISM encoder (Swin-B / Swin-L / Swin-H, as in the paper's code) and the factory.

Parameter counts (measured; 1 input channel, default head sizes; ``prism summary --preset NAME`` prints them):

=======  ============  ========  ===============  =============  ==============  ===========
preset   feature_size  depths    heads            swinViT        PrismEncoder    full model
=======  ============  ========  ===============  =============  ==============  ===========
swin_b   48            2,2,2,2   3,6,12,24        8,062,002      10,428,210      30,513,402
swin_l   96            2,2,6,2   3,6,12,24        38,796,786     48,247,794      123,279,090
swin_h   192           2,2,18,2  3,6,12,24        239,485,794    277,262,178     568,167,378
=======  ============  ========  ===============  =============  ==============  ===========

All use window 7 and patch 2. "swinViT" is what moves into SwinUNETR; "PrismEncoder" adds the anatomy and
sequence branches; "full model" adds the pretext heads (reconstruction, translator, discriminator, metadata,
projection), which fine-tuning drops.
"""

from __future__ import annotations

from typing import Any

from monai.utils import look_up_option

from prism.networks.prism import PrismPretrainModel

__all__ = ["PRESETS", "build_prism", "get_preset", "list_presets"]

PRESETS: dict[str, dict[str, Any]] = {
    "swin_b": {
        "feature_size": 48,
        "depths": (2, 2, 2, 2),
        "num_heads": (3, 6, 12, 24),
        "window_size": 7,
        "patch_size": 2,
    },
    "swin_l": {
        "feature_size": 96,
        "depths": (2, 2, 6, 2),
        "num_heads": (3, 6, 12, 24),
        "window_size": 7,
        "patch_size": 2,
    },
    "swin_h": {
        "feature_size": 192,
        "depths": (2, 2, 18, 2),
        "num_heads": (3, 6, 12, 24),
        "window_size": 7,
        "patch_size": 2,
    },
}


def list_presets() -> list[str]:
    """Names of the size presets."""
    return list(PRESETS)


def get_preset(name: str) -> dict[str, Any]:
    """A copy of the arguments of preset ``name``; an unknown name raises ValueError with a suggestion."""
    return dict(look_up_option(name, PRESETS))


def build_prism(preset: str = "swin_b", **overrides: Any) -> PrismPretrainModel:
    """Build :class:`PrismPretrainModel` from a preset; keyword arguments override the preset's values, e.g.
    ``build_prism("swin_b", feature_size=12, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1))`` for a tiny test model.
    """
    return PrismPretrainModel(**{**get_preset(preset), **overrides})
