"""Encoder initialisation of a task bundle's network: ``pretrained_source`` prism / scratch / swinunetr_ssl /
brainsegfounder, with an error that says how to get a weight file a fresh download does not have.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch.nn as nn
from monai.utils import look_up_option

from prism.networks.weights import SOURCE_FORMATS, load_encoder

__all__ = [
    "PRETRAINED_FILES",
    "PRETRAINED_SOURCES",
    "PUBLISHED_WEIGHTS",
    "PublishedWeights",
    "init_from_pretrained",
    "pretrained_file",
]

PRETRAINED_SOURCES = ("scratch", *SOURCE_FORMATS)


@dataclass(frozen=True)
class PublishedWeights:
    """Where a pretrained source's encoder weights come from; each bundle's ``large_files.yml`` is written from
    this table (``tools/generate_bundles.py``), and the missing-file error repeats it.

    Attributes:
        file: file name under a bundle's ``models/`` (what ``pretrained_path`` defaults to).
        url: the publisher's download address; None while the weights are not published.
        sha256: the file's sha256; None when it cannot be known offline (``prism download`` then prints and
            records the hash it saw, and checks later downloads against it).
        origin: who published them, and their terms.
    """

    file: str
    url: str | None
    sha256: str | None
    origin: str


PUBLISHED_WEIGHTS: dict[str, PublishedWeights] = {
    # PRISM's own encoder: written by the pretraining bundle's encoder export; no released file yet.
    "prism": PublishedWeights("prism_encoder.pt", None, None, "the prism_pretrain bundle (`prism export-encoder`)"),
    "swinunetr_ssl": PublishedWeights(
        "model_swinvit.pt",
        "https://github.com/Project-MONAI/MONAI-extra-test-data/releases/download/0.8.1/model_swinvit.pt",
        None,
        "Tang et al. 2022, self-supervised SwinUNETR (Project MONAI, Apache-2.0)",
    ),
    "brainsegfounder": PublishedWeights(
        "brainsegfounder.pt",
        # Stage-1 self-supervised weights (UK Biobank T1 + T2) from the authors' (SMILE lab) model repository.
        "https://huggingface.co/smilelab/BrainSegFounder/resolve/main/model_weights_UKB-pretrain.pt",
        None,
        "Cox et al. 2024, BrainSegFounder (SMILE lab, University of Florida; UK Biobank material transfer terms)",
    ),
}
# File name under a bundle's models/ for each pretrained source (what `pretrained_path` defaults to).
PRETRAINED_FILES: dict[str, str] = {source: weights.file for source, weights in PUBLISHED_WEIGHTS.items()}


def _how_to_get(source: str, path: str | os.PathLike) -> str:
    """How to obtain ``source``'s weights at ``path``: the commands that fetch them, or how to make them."""
    weights = PUBLISHED_WEIGHTS[source]
    steps = []
    if weights.url:
        steps.append(
            f"download them ({weights.origin}; {weights.url}): `prism download <bundle> --index <index> --out <dir>` "
            "fetches every file the bundle's large_files.yml lists, as does `python -m monai.bundle "
            "download_large_files` run in the bundle folder"
        )
    if source == "prism":
        steps.append(
            f"train the prism_pretrain bundle and export its encoder (`prism export-encoder RUN_DIR --out {path}`); "
            "once PRISM weights are published, the bundle's large_files.yml lists them and `prism download` "
            "fetches them"
        )
    return "; or ".join(steps)


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
            + _how_to_get(source, path)
            + "; or point --pretrained_path at a file you have; or train from random initialisation with "
            "--pretrained_source scratch."
        )
    load_encoder(network, path, source_format=source, strict=strict, adapt_in_channels=adapt_in_channels)
    return network
