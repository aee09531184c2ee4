"""Encoder initialisation of a task bundle's network: ``pretrained_source`` prism / scratch / swinunetr_ssl /
brainsegfounder, with an error that says how to get a weight file a fresh download does not have.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch.nn as nn
from monai.utils import look_up_option

from prism.networks.weights import SOURCE_FORMATS, load_encoder

__all__ = ["PRETRAINED_FILES", "PRETRAINED_SOURCES", "init_from_pretrained", "pretrained_file"]

PRETRAINED_SOURCES = ("scratch", *SOURCE_FORMATS)
# File name under a bundle's models/ for each pretrained source (what `pretrained_path` defaults to).
PRETRAINED_FILES: dict[str, str] = {
    "prism": "prism_encoder.pt",
    "swinunetr_ssl": "model_swinvit.pt",
    "brainsegfounder": "brainsegfounder.pt",
}
_HOW_TO_GET = {
    "prism": "train the prism_pretrain bundle and export its encoder (`prism export-encoder RUN_DIR --out {path}`), "
    "or fetch released weights with `prism download` when the bundle's large_files.yml lists them",
    "swinunetr_ssl": "download the self-supervised SwinUNETR weights model_swinvit.pt (Tang et al. 2022, "
    "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/model_swinvit.pt) to {path}",
    "brainsegfounder": "download a BrainSegFounder checkpoint (Cox et al. 2024, from its publishers) to {path}",
}


def pretrained_file(bundle_root: str | os.PathLike, source: str) -> str:
    """Default weight file of ``source`` in a bundle: ``<bundle_root>/models/<file>`` ('' for scratch)."""
    source = look_up_option(source, PRETRAINED_SOURCES)
    if source == "scratch":
        return ""
    return str(Path(bundle_root) / "models" / PRETRAINED_FILES[source])


def init_from_pretrained(
    network: nn.Module,
    path: str | os.PathLike | None,
    source: str = "prism",
    adapt_in_channels: str | None = None,
    strict: bool = True,
) -> nn.Module:
    """Initialise a bundle's freshly built network from pretrained encoder weights and return it.

    Args:
        network: the network (SwinUNETR, classifier, registration network, ...).
        path: checkpoint file; ignored when ``source="scratch"``.
        source: ``"scratch"`` (return the network unchanged) or a format of
            :func:`prism.networks.weights.load_encoder`.
        adapt_in_channels, strict: as in :func:`~prism.networks.weights.load_encoder` (strict applies to the
            encoder part only; decoders and task heads always keep their initialisation).

    Raises:
        FileNotFoundError: the weight file does not exist; the message says how to get it or how to start from
            scratch instead.
        ValueError: an unknown source, or weights that do not fit (see ``load_encoder``).
    """
    source = look_up_option(source, PRETRAINED_SOURCES)
    if source == "scratch":
        return network
    if path is None or not str(path).strip():
        raise ValueError(f"pretrained_source {source!r} needs a checkpoint path (pretrained_source scratch for none).")
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"pretrained_source {source!r}: the encoder weights {path} do not exist. To get them, "
            + _HOW_TO_GET[source].format(path=path)
            + "; or point --pretrained_path at a file you have; or train from random initialisation with "
            "--pretrained_source scratch."
        )
    load_encoder(network, path, source_format=source, strict=strict, adapt_in_channels=adapt_in_channels)
    return network
