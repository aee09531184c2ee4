"""``prism export-encoder``: write the encoder of a pretraining checkpoint in the format downstream bundles load.

The network is rebuilt from the bundle's own ``network_def`` (with the same overrides as the training run), the
weights are read with ``weights_only=True`` from a resumable checkpoint (its ``model`` entry) or from
``models/model.pt``, loaded strictly, and written with :func:`prism.networks.weights.save_encoder`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from prism.bundle.checkpoint import latest_checkpoint

__all__ = ["export_encoder", "export_encoder_command", "build_network_def"]

logger = logging.getLogger(__name__)


def build_network_def(
    bundle_dir: str | os.PathLike,
    config_file: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> torch.nn.Module:
    """Instantiate ``network_def`` of a bundle's training config with ``overrides`` (config ids -> values).

    Raises:
        ValueError: when the bundle has no such config file.
    """
    from monai.bundle import ConfigParser

    bundle_dir = Path(bundle_dir)
    config_file = Path(config_file) if config_file is not None else bundle_dir / "configs" / "train.yaml"
    if not config_file.is_file():
        raise ValueError(f"export-encoder: config file {config_file} does not exist.")
    parser = ConfigParser()
    parser.read_config(str(config_file))
    parser["bundle_root"] = str(bundle_dir)
    for key, value in (overrides or {}).items():
        parser[key] = value
    return parser.get_parsed_content("network_def", instantiate=True)


def _model_state(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, Mapping) and "model" in state and isinstance(state["model"], Mapping):
        state = state["model"]  # a resumable checkpoint: {"model": ..., "generator_optimizer": ..., ...}
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"export-encoder: {path} holds neither a model state dict nor a checkpoint with 'model'.")
    return dict(state)


def export_encoder(
    bundle_dir: str | os.PathLike,
    output: str | os.PathLike,
    checkpoint: str | os.PathLike | None = None,
    overrides: Mapping[str, Any] | None = None,
    config_file: str | os.PathLike | None = None,
) -> Path:
    """Export the encoder weights of a pretraining run.

    Args:
        bundle_dir: the pretraining bundle (its ``configs/train.yaml`` defines ``network_def``).
        output: encoder file to write (``save_encoder`` format).
        checkpoint: checkpoint or ``model.pt`` to read; default: the newest ``checkpoint_iter*.pt`` in
            ``<bundle_dir>/models``, else ``<bundle_dir>/models/model.pt``.
        overrides: config overrides the run was trained with (e.g. ``{"preset": "swin_l"}`` or tiny widths).
        config_file: training config, default ``<bundle_dir>/configs/train.yaml``.

    Returns:
        the path written.

    Raises:
        ValueError: when no checkpoint is found, or its keys or shapes do not match the network.
    """
    from prism.networks.weights import save_encoder

    bundle_dir = Path(bundle_dir)
    if checkpoint is None:
        checkpoint = latest_checkpoint(bundle_dir / "models") or bundle_dir / "models" / "model.pt"
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise ValueError(f"export-encoder: checkpoint {checkpoint} does not exist; train first or pass --checkpoint.")
    network = build_network_def(bundle_dir, config_file, overrides)
    try:
        network.load_state_dict(_model_state(checkpoint), strict=True)
    except RuntimeError as err:
        raise ValueError(
            f"export-encoder: {checkpoint} does not match the bundle's network_def (same overrides as the training "
            f"run needed): {err}"
        ) from err
    meta = {"source_checkpoint": str(checkpoint), "bundle": "prism_pretrain", "overrides": dict(overrides or {})}
    path = save_encoder(network, output, extra_meta=meta)
    logger.info("exported encoder of %s to %s", checkpoint, path)
    return path


def export_encoder_command(
    bundle_dir: str = "bundles/prism_pretrain",
    out: str = "encoder.pt",
    checkpoint: str | None = None,
    config_file: str | None = None,
    **overrides: Any,
) -> str:
    """Write the encoder of a PRISM pretraining run for the downstream bundles.

    Args:
        bundle_dir: the pretraining bundle folder.
        out: encoder file to write.
        checkpoint: checkpoint or model.pt (default: newest checkpoint in <bundle_dir>/models, else model.pt).
        config_file: training config (default <bundle_dir>/configs/train.yaml).
        overrides: any further ``--id value`` pairs are config overrides of the training run, e.g.
            ``--preset swin_l`` or ``--network_def#feature_size 12`` (use ``#`` as in ``monai.bundle run``).

    Returns:
        the path written.
    """
    return str(export_encoder(bundle_dir, out, checkpoint, overrides, config_file))
