"""PRISM networks: the disentangled Swin encoder, the pretraining model with its pretext heads, size presets,
downstream encoders and encoder-weight I/O. See ``docs/network.md`` for the data flow."""

from __future__ import annotations

from prism.networks.acquisition import (
    BODY_REGIONS,
    REGION_IGNORE_INDEX,
    denormalise_acquisition,
    normalise_acquisition,
    region_index,
)
from prism.networks.downstream import RegistrationEncoder, SwinClassifier
from prism.networks.encoder import EncoderFeatures, PrismEncoder, build_swin_backbone, check_input_size
from prism.networks.presets import PRESETS, build_prism, get_preset, list_presets
from prism.networks.prism import PrismPretrainModel
from prism.networks.weights import LoadReport, init_from_pretrained, load_encoder, load_prism_encoder, save_encoder

__all__ = [
    "BODY_REGIONS",
    "PRESETS",
    "REGION_IGNORE_INDEX",
    "EncoderFeatures",
    "LoadReport",
    "PrismEncoder",
    "PrismPretrainModel",
    "RegistrationEncoder",
    "SwinClassifier",
    "build_prism",
    "build_swin_backbone",
    "check_input_size",
    "denormalise_acquisition",
    "get_preset",
    "init_from_pretrained",
    "list_presets",
    "load_encoder",
    "load_prism_encoder",
    "normalise_acquisition",
    "region_index",
    "save_encoder",
]
