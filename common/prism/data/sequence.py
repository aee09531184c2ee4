"""Sequence type from a label or description, else from the acquisition parameters.

Names are tried first (BIDS suffix, then SeriesDescription/ProtocolName), because parameters alone
cannot tell every case apart. Without a recognised name, the physics decides: an inversion time near the
CSF null (>= 1500 ms) is FLAIR, a short one with a long TR (<= 400 ms) STIR (fat null); a b-value > 0 is
DWI; a short TR and TE give T1 weighting; a long TR with a long TE gives T2 weighting, with a short TE
proton-density weighting.
"""

from __future__ import annotations

import re

__all__ = ["infer_sequence"]

# Checked in this order: more specific types first (a "T2W FLAIR" is FLAIR, a "T1 DCE" is DCE).
_NAME_PATTERNS: tuple[tuple[str, str], ...] = (
    ("DWI", r"dwi\w*|dti|diff\w*|adc|trace\w*|b\d{3,4}|ep2d"),
    ("DCE", r"dce|dyn\w*|twist"),
    ("FLAIR", r"flair\w*|darkfluid"),
    ("STIR", r"stir\w*|tirm"),
    ("PDW", r"pd|pdw\w*|pdfs|proton"),
    ("T2W", r"t2|t2w\w*|t2wi|t2tse|t2fse|t2fs|t2spc|t2space"),
    ("T1W", r"t1|t1w\w*|t1wi|t1tse|t1fs|t1se|t1gre|mprage|mp2rage|spgr|fspgr|bravo|tfl\w*|vibe|t1ce|t1c"),
)


def _from_name(text: str | None) -> str | None:
    if not text:
        return None
    tokens = [t for t in re.split(r"[^a-z0-9]+", str(text).lower()) if t]
    for sequence, pattern in _NAME_PATTERNS:
        if any(re.fullmatch(pattern, token) for token in tokens):
            return sequence
    return None


def _from_parameters(
    tr: float | None,
    te: float | None,
    ti: float | None,
    flip_angle: float | None,
    b_value: float | None,
    contrast: bool,
) -> str | None:
    if b_value is not None and b_value > 0:
        return "DWI"
    if ti is not None and ti > 0:
        if ti >= 1500:
            return "FLAIR"
        if ti <= 400 and (tr is None or tr >= 1500):
            return "STIR"
        return "T1W"  # IR-prepared T1 (MPRAGE-like, TI 400-1500 ms)
    if tr is None or te is None:
        return None
    if tr < 100:  # gradient echo
        if contrast and tr < 10:
            return "DCE"
        if te < 15 and (flip_angle is None or flip_angle >= 8):
            return "T1W"
        return None
    if tr <= 1000 and te <= 30:
        return "T1W"
    if tr >= 1500 and te >= 60:
        return "T2W"
    if tr >= 1500 and te <= 35:
        return "PDW"
    return None


def infer_sequence(
    label: str | None = None,
    description: str | None = None,
    *,
    tr: float | None = None,
    te: float | None = None,
    ti: float | None = None,
    flip_angle: float | None = None,
    b_value: float | None = None,
    contrast: bool = False,
) -> tuple[str, str]:
    """Sequence type of a volume.

    Args:
        label: an explicit label such as the BIDS suffix (``T1w``, ``FLAIR``, ``dwi``...).
        description: free text (SeriesDescription, ProtocolName).
        tr, te, ti: ms; flip_angle: degrees; b_value: s/mm^2; contrast: a contrast agent was given.

    Returns:
        (sequence, source): a value of ``prism.data.datalist.SEQUENCES`` and how it was decided
        (``"label"``, ``"description"``, ``"parameters"`` or ``"unknown"`` for ``"other"``).
    """
    found = _from_name(label)
    if found is not None:
        return found, "label"
    found = _from_name(description)
    if found is not None:
        return found, "description"
    found = _from_parameters(tr, te, ti, flip_angle, b_value, contrast)
    if found is not None:
        return found, "parameters"
    return "other", "unknown"
