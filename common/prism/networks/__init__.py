"""PRISM networks: the disentangled Swin encoder, the pretraining model with its pretext heads, size presets,
downstream encoders and encoder-weight I/O. See ``docs/network.md`` for the data flow.

Names are imported on first use, so a task bundle that loads encoder weights (``prism.networks.weights``) does
not also import the pretraining model and its heads.
"""

from __future__ import annotations

import importlib
from typing import Any

from prism.runtime import check_runtime

_EXPORTS: dict[str, str] = {
    "RegistrationEncoder": "prism.networks.downstream",
    "SwinClassifier": "prism.networks.downstream",
    "EncoderFeatures": "prism.networks.encoder",
    "PrismEncoder": "prism.networks.encoder",
    "build_swin_backbone": "prism.networks.encoder",
    "check_input_size": "prism.networks.encoder",
    "PRESETS": "prism.networks.presets",
    "build_prism": "prism.networks.presets",
    "get_preset": "prism.networks.presets",
    "list_presets": "prism.networks.presets",
    "PrismPretrainModel": "prism.networks.prism",
    "LoadReport": "prism.networks.weights",
    "load_encoder": "prism.networks.weights",
    "load_prism_encoder": "prism.networks.weights",
    "save_encoder": "prism.networks.weights",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Not cached in globals(): every lookup (each `_target_: prism.networks.X`) first checks that no bundle on
    # sys.path carries a prism different from this one (prism.runtime).
    check_runtime()
    if name not in _EXPORTS:
        raise AttributeError(f"module 'prism.networks' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
