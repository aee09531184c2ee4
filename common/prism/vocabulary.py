"""Shared vocabulary, the bottom layer of the package: sequence names, datalist record keys, body regions,
and the units and normalisation of the acquisition parameters. Everything else imports from here; this module
imports nothing of ``prism``.

TR and TE span three orders of magnitude (TR 3 ms for a gradient echo to 10 s for FLAIR), so they are
regressed on a log scale; the flip angle is divided by 90 degrees. Typical values land in [0, 1.2]:

    tr_n = log(1 + TR / 1 ms) / log(1 + 10000)     (TR = 10 s -> 1.0, TR = 500 ms -> 0.67)
    te_n = log(1 + TE / 1 ms) / log(1 + 1000)      (TE = 100 ms -> 0.67, TE = 2 ms -> 0.16)
    fa_n = FA / 90 deg

A missing value (None or NaN) is not invented: it gets value 0 and ``valid = False``, and the metadata loss
ignores it. A value that cannot be right (negative, infinite) raises ValueError.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Union

import numpy as np
import torch
from monai.utils import look_up_option

__all__ = [
    "ACQUISITION_PARAMETERS",
    "BODY_REGIONS",
    "NUMERIC_KEYS",
    "RECORD_KEYS",
    "REGION_ALIASES",
    "REGION_IGNORE_INDEX",
    "SEQUENCES",
    "denormalise_acquisition",
    "normalise_acquisition",
    "region_index",
]

# Sequence types of the pretraining corpus (the ``sequence`` of a datalist record).
SEQUENCES: tuple[str, ...] = ("T1W", "T2W", "PDW", "FLAIR", "DWI", "DCE", "STIR", "other")
# Keys of a pretraining datalist record (see prism.data.datalist); unknown values are explicit nulls.
RECORD_KEYS: tuple[str, ...] = (
    "image",
    "subject",
    "session",
    "sequence",
    "tr",
    "te",
    "ti",
    "flip_angle",
    "field_strength",
    "body_region",
    "dataset",
)
# Record keys holding numbers: TR, TE, TI in ms, flip angle in degrees, field strength in tesla.
NUMERIC_KEYS: tuple[str, ...] = ("tr", "te", "ti", "flip_angle", "field_strength")

ACQUISITION_PARAMETERS = ("tr", "te", "fa")
TR_SCALE_MS = 10000.0
TE_SCALE_MS = 1000.0
FA_SCALE_DEG = 90.0

BODY_REGIONS: tuple[str, ...] = (
    "brain",
    "head_neck",
    "spine",
    "breast",
    "chest",  # includes heart
    "abdomen",
    "pelvis",  # includes prostate, bladder, uterus, rectum
    "knee",
    "musculoskeletal",  # other joints and limbs
    "whole_body",
    "other",
)
REGION_IGNORE_INDEX = -1
REGION_ALIASES: dict[str, str] = {
    "head": "brain",
    "neuro": "brain",
    "neck": "head_neck",
    "headneck": "head_neck",
    "cervical_spine": "spine",
    "lumbar_spine": "spine",
    "thoracic_spine": "spine",
    "heart": "chest",
    "cardiac": "chest",
    "thorax": "chest",
    "lung": "chest",
    "liver": "abdomen",
    "pancreas": "abdomen",
    "kidney": "abdomen",
    "prostate": "pelvis",
    "bladder": "pelvis",
    "uterus": "pelvis",
    "cervix": "pelvis",
    "rectum": "pelvis",
    "hip": "musculoskeletal",
    "shoulder": "musculoskeletal",
    "ankle": "musculoskeletal",
    "wrist": "musculoskeletal",
    "elbow": "musculoskeletal",
}

Values = Union[float, None, Sequence, np.ndarray, torch.Tensor]


def _as_tensor(values: Values, name: str) -> torch.Tensor:
    if isinstance(values, torch.Tensor):
        t = values.detach().to(dtype=torch.float64, device="cpu")
    elif values is None:
        t = torch.tensor(float("nan"), dtype=torch.float64)
    elif isinstance(values, (list, tuple)):
        t = torch.tensor([float("nan") if v is None else float(v) for v in values], dtype=torch.float64)
    else:
        t = torch.as_tensor(np.asarray(values, dtype=np.float64))
    if torch.isinf(t).any():
        raise ValueError(f"{name} contains an infinite value: {t.tolist()}.")
    if (t < 0).any():
        raise ValueError(f"{name} contains a negative value: {t.tolist()} (expected ms for TR/TE, degrees for FA).")
    return t


def normalise_acquisition(tr: Values, te: Values, fa: Values) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalise TR (ms), TE (ms) and flip angle (degrees) for the regression head.

    Args:
        tr, te, fa: scalars, sequences, arrays or tensors of one common shape ``S``; None or NaN means missing.

    Returns:
        ``(values, valid)``: float32 tensor of shape ``S + (3,)`` (missing entries are 0) and a bool tensor of the
        same shape, False where the value is missing.

    Raises:
        ValueError: on negative or infinite values, or shapes that differ.
    """
    parts = [_as_tensor(v, n) for v, n in zip((tr, te, fa), ("TR", "TE", "flip angle"))]
    if not parts[0].shape == parts[1].shape == parts[2].shape:
        raise ValueError(f"TR, TE and flip angle shapes differ: {[tuple(p.shape) for p in parts]}.")
    raw = torch.stack(parts, dim=-1)
    valid = ~torch.isnan(raw)
    filled = torch.where(valid, raw, torch.zeros_like(raw))
    values = torch.stack(
        [
            torch.log1p(filled[..., 0]) / math.log1p(TR_SCALE_MS),
            torch.log1p(filled[..., 1]) / math.log1p(TE_SCALE_MS),
            filled[..., 2] / FA_SCALE_DEG,
        ],
        dim=-1,
    )
    return torch.where(valid, values, torch.zeros_like(values)).float(), valid


def denormalise_acquisition(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inverse of :func:`normalise_acquisition`: (..., 3) -> (TR ms, TE ms, FA degrees), each of shape (...)."""
    if values.shape[-1] != 3:
        raise ValueError(f"expected a last dimension of 3 (TR, TE, FA), got shape {tuple(values.shape)}.")
    tr = torch.expm1(values[..., 0] * math.log1p(TR_SCALE_MS))
    te = torch.expm1(values[..., 1] * math.log1p(TE_SCALE_MS))
    return tr, te, values[..., 2] * FA_SCALE_DEG


def region_index(name: str | None) -> int:
    """Class index of a body region in :data:`BODY_REGIONS` (aliases such as "prostate" -> "pelvis" accepted).

    None or an empty string means unknown and gives :data:`REGION_IGNORE_INDEX`, which the loss skips.

    Raises:
        ValueError: for a name that is neither a region nor an alias (with the closest suggestion).
    """
    if name is None or not str(name).strip():
        return REGION_IGNORE_INDEX
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    key = REGION_ALIASES.get(key, key)
    return BODY_REGIONS.index(look_up_option(key, BODY_REGIONS))
