"""Encoder weights in and out, with a report of what loaded.

Formats read by :func:`load_encoder` (``source_format``):

- ``"prism"``: a file from :func:`save_encoder` (``{"format": "prism-encoder", "format_version": 1,
  "state_dict": {"swinViT.*", "ana_branch.*", "seq_branch.*", "aggregate.*"}, "meta": {...}}``), or a full
  :class:`~prism.networks.prism.PrismPretrainModel` state dict (keys ``encoder.*``; the pretext heads are ignored).
- ``"swinunetr_ssl"``: the public self-supervised SwinUNETR weights ``model_swinvit.pt`` (Tang et al. 2022):
  ``{"state_dict": {"module.patch_embed.*", "module.layers1.0.blocks.0.mlp.fc1.weight", ...}}`` plus the
  rotation / contrastive / reconstruction heads, which are ignored; ``mlp.fc1/fc2`` become MONAI's
  ``mlp.linear1/linear2``.
- ``"brainsegfounder"``: BrainSegFounder checkpoints (Cox et al. 2024), SwinUNETR-based:
  ``{"state_dict" | "model_state_dict" | "model": {"module.swinViT.*" or "swinViT.*", decoder keys...}}`` or a
  bare state dict; the SwinUNETR decoder and SSL heads are ignored.

Targets: any module holding MONAI ``SwinTransformer`` backbones (``SwinUNETR``, :class:`PrismEncoder`,
:class:`PrismPretrainModel`, :class:`~prism.networks.downstream.SwinClassifier`,
:class:`~prism.networks.downstream.RegistrationEncoder`, or a classifier with one backbone per sequence: each
backbone receives the weights). A shape mismatch always fails, naming the key, both shapes and the file; with
``strict=True`` a missing or unexpected encoder key fails too.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import torch
import torch.nn as nn
from monai.networks.nets.swin_unetr import SwinTransformer
from monai.utils import look_up_option

from prism.networks.encoder import PrismEncoder

__all__ = [
    "ENCODER_FILE_FORMAT",
    "SOURCE_FORMATS",
    "LoadReport",
    "load_encoder",
    "load_prism_encoder",
    "read_encoder_file",
    "save_encoder",
]

logger = logging.getLogger(__name__)

ENCODER_FILE_FORMAT = "prism-encoder"
ENCODER_FILE_VERSION = 1
SOURCE_FORMATS = ("prism", "swinunetr_ssl", "brainsegfounder")
ADAPT_MODES = ("repeat", "repeat_scaled")

# First key component of source entries that are known not to be encoder weights.
_SSL_HEADS = {
    "rotation_pre",
    "rotation_head",
    "contrastive_pre",
    "contrastive_head",
    "conv",
    "convTrans3d",
    "norm",
    "mask_token",
}
_SWINUNETR_DECODER = {
    "encoder1",
    "encoder2",
    "encoder3",
    "encoder4",
    "encoder10",
    "decoder1",
    "decoder2",
    "decoder3",
    "decoder4",
    "decoder5",
    "out",
}
_PRISM_HEADS = {"recon_head", "translator", "discriminator", "acquisition_head", "region_head", "projection"}
_SWIN_TOP = {"patch_embed", "layers1", "layers2", "layers3", "layers4", "layers1c", "layers2c", "layers3c", "layers4c"}
_BRANCHES = ("ana_branch.", "seq_branch.", "aggregate.")
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DistributedDataParallel / DataParallel, torch.compile
_STATE_KEYS = ("state_dict", "model_state_dict", "model", "network", "net")

Source = Union[str, os.PathLike, Mapping]


@dataclass
class LoadReport:
    """What :func:`load_encoder` did. Keys are the target's state-dict keys unless said otherwise.

    Attributes:
        source: the file (or ``"<state dict>"``).
        source_format: one of :data:`SOURCE_FORMATS`.
        loaded: target keys that received checkpoint values.
        missing: target encoder keys for which the checkpoint had nothing.
        unexpected: checkpoint keys (canonical names) that fit no target key and are not known extras.
        ignored: checkpoint keys deliberately skipped (pretext heads, source decoders, PRISM branches for a
            plain Swin target).
        kept_init: target keys outside the encoder (decoders, task heads), or fixed buffers the checkpoint
            does not carry, left as initialised.
        adapted: target key -> how its checkpoint value was adapted (input-channel change).
    """

    source: str
    source_format: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    kept_init: list[str] = field(default_factory=list)
    adapted: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One paragraph for logs."""
        lines = [
            f"encoder weights from {self.source} (format {self.source_format!r}): {len(self.loaded)} loaded, "
            f"{len(self.missing)} missing, {len(self.unexpected)} unexpected, {len(self.ignored)} ignored, "
            f"{len(self.kept_init)} target keys kept at initialisation."
        ]
        for name in ("missing", "unexpected"):
            keys = getattr(self, name)
            if keys:
                lines.append(f"  {name}: {_preview(keys)}")
        lines += [f"  adapted {k}: {v}" for k, v in self.adapted.items()]
        return "\n".join(lines)


def _preview(keys: list[str], n: int = 8) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", ... ({len(keys) - n} more)" if len(keys) > n else "")


def _find(module: nn.Module, kind: type) -> list[str]:
    """State-dict prefixes ("" or "a.b.") of the submodules of type ``kind``, outermost only."""
    prefixes: list[str] = []
    for name, sub in module.named_modules():
        if isinstance(sub, kind) and not any(name.startswith(p) for p in prefixes if p):
            prefixes.append(f"{name}." if name else "")
    return prefixes


def _swin_config(swin: SwinTransformer) -> dict[str, Any]:
    stages = [swin.layers1[0], swin.layers2[0], swin.layers3[0], swin.layers4[0]]
    return {
        "in_channels": int(swin.patch_embed.proj.in_channels),
        "feature_size": int(swin.embed_dim),
        "depths": [len(stage.blocks) for stage in stages],
        "num_heads": [int(stage.blocks[0].attn.num_heads) for stage in stages],
        "window_size": [int(w) for w in swin.window_size],
        "patch_size": [int(p) for p in swin.patch_size],
        "use_v2": bool(swin.use_v2),
    }


def save_encoder(model_or_encoder: nn.Module, path: str | os.PathLike, extra_meta: Mapping | None = None) -> Path:
    """Save encoder-only weights as plain tensors with JSON-able metadata (loadable with ``weights_only=True``).

    From a :class:`PrismPretrainModel` or :class:`PrismEncoder` the whole encoder is saved (swinViT and the
    disentanglement branches); from any other module with exactly one MONAI ``SwinTransformer`` (e.g. a
    fine-tuned SwinUNETR), its backbone as ``swinViT.*``.

    Args:
        model_or_encoder: the network.
        path: output file (parent folders are created; written atomically).
        extra_meta: JSON-serialisable additions to the metadata (preset name, training step, data...).

    Returns:
        the path written.
    """
    encoders = _find(model_or_encoder, PrismEncoder)
    if len(encoders) == 1:
        encoder = model_or_encoder.get_submodule(encoders[0][:-1]) if encoders[0] else model_or_encoder
        state = encoder.state_dict()
        meta: dict[str, Any] = {"architecture": "PrismEncoder", "encoder": dict(encoder.config)}
    else:
        swins = _find(model_or_encoder, SwinTransformer)
        if len(swins) != 1 or encoders:
            raise ValueError(
                f"save_encoder needs a module with exactly one PrismEncoder or one SwinTransformer; "
                f"{type(model_or_encoder).__name__} has {len(encoders)} PrismEncoder and {len(swins)} SwinTransformer."
            )
        swin = model_or_encoder.get_submodule(swins[0][:-1]) if swins[0] else model_or_encoder
        state = {f"swinViT.{k}": v for k, v in swin.state_dict().items()}
        meta = {"architecture": "SwinTransformer", "encoder": _swin_config(swin)}
    if extra_meta:
        meta.update(dict(extra_meta))
    try:
        meta = json.loads(json.dumps(meta))
    except TypeError as err:
        raise ValueError(f"extra_meta for {path} must be JSON-serialisable: {err}") from err
    payload = {
        "format": ENCODER_FILE_FORMAT,
        "format_version": ENCODER_FILE_VERSION,
        "state_dict": {k: v.detach().cpu().clone() for k, v in state.items()},
        "meta": meta,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def _read(source: Source, weights_only: bool) -> tuple[Any, str]:
    if isinstance(source, Mapping):
        return source, "<state dict>"
    path = Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {path} does not exist.")
    with path.open("rb") as f:
        head = f.read(4)
    # torch.save writes a zip archive (PK..); the legacy format is a pickle (protocol byte 0x80).
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
        raise ValueError(f"{path} is not a PyTorch checkpoint (it starts with {head!r}, not a torch.save archive).")
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only), str(path)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        message = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        if weights_only and "weights only" in str(err).lower():
            raise ValueError(
                f"{path}: torch.load(weights_only=True) refused an object in it ({message}). Re-save its state dict "
                "as plain tensors, or pass weights_only=False for a file you trust."
            ) from err
        raise ValueError(f"{path} is not a loadable PyTorch checkpoint (corrupt or truncated?): {message}") from err


def read_encoder_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a :func:`save_encoder` file: ``{"format", "format_version", "state_dict", "meta"}``."""
    obj, name = _read(path, weights_only=True)
    if not isinstance(obj, Mapping) or obj.get("format") != ENCODER_FILE_FORMAT:
        raise ValueError(f"{name} is not a PRISM encoder file (no 'format': {ENCODER_FILE_FORMAT!r} entry).")
    if int(obj.get("format_version", -1)) > ENCODER_FILE_VERSION:
        raise ValueError(
            f"{name} has encoder format version {obj['format_version']}; this prism reads up to {ENCODER_FILE_VERSION}."
        )
    return dict(obj)


def _state_dict_of(obj: Any, name: str, source_format: str) -> Mapping[str, torch.Tensor]:
    if not isinstance(obj, Mapping):
        raise ValueError(f"{name}: expected a dict checkpoint, got {type(obj).__name__}.")
    if "format" in obj and obj.get("format") != ENCODER_FILE_FORMAT:
        raise ValueError(f"{name}: unknown checkpoint format {obj.get('format')!r}.")
    if obj.get("format") == ENCODER_FILE_FORMAT and source_format != "prism":
        raise ValueError(f"{name} is a PRISM encoder file; load it with source_format='prism', not {source_format!r}.")
    for key in _STATE_KEYS:
        if isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f"{name}: no tensors found; top-level keys are {_preview([str(k) for k in obj])}.")
    return tensors


def _canonical(
    state: Mapping[str, torch.Tensor], source_format: str
) -> tuple[dict[str, torch.Tensor], list[str], list[str]]:
    """Rename checkpoint keys to PrismEncoder names (``swinViT.*`` + branches).

    Returns (canonical state, ignored source keys, unexpected source keys).
    """
    out: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    unexpected: list[str] = []
    stripped = {}
    for key, value in state.items():
        k = key
        while k.startswith(_WRAPPER_PREFIXES):
            k = k.split(".", 1)[1]
        stripped[k] = (key, value)
    full_prism = source_format == "prism" and any(k.startswith("encoder.swinViT.") for k in stripped)
    for k, (key, value) in stripped.items():
        if full_prism:
            if k.startswith("encoder."):
                k = k[len("encoder.") :]
            elif k.split(".")[0] in _PRISM_HEADS:
                ignored.append(key)
                continue
        if k.startswith("swin_vit."):
            k = "swinViT." + k[len("swin_vit.") :]
        top = k.split(".")[0]
        if source_format != "prism" and top in _SWIN_TOP:
            k = "swinViT." + k
        if k.startswith("swinViT."):
            out[k.replace(".mlp.fc1.", ".mlp.linear1.").replace(".mlp.fc2.", ".mlp.linear2.")] = value
        elif source_format == "prism" and k.startswith(_BRANCHES):
            out[k] = value
        elif top in _SSL_HEADS or (source_format != "prism" and top in _SWINUNETR_DECODER):
            ignored.append(key)
        else:
            unexpected.append(key)
    return out, ignored, unexpected


def _adapt_patch_embed(value: torch.Tensor, target_shape: torch.Size, mode: str) -> tuple[torch.Tensor, str]:
    c_src, c_tgt = value.shape[1], target_shape[1]
    factor = c_tgt // c_src
    tiled = value.repeat(1, factor, *([1] * (value.ndim - 2)))
    if mode == "repeat_scaled":
        return tiled / factor, f"{c_src} -> {c_tgt} input channels: weights repeated {factor}x and divided by {factor}"
    return tiled, f"{c_src} -> {c_tgt} input channels: weights repeated {factor}x"


def load_encoder(
    target: nn.Module,
    source: Source,
    source_format: str = "prism",
    strict: bool = True,
    adapt_in_channels: str | None = None,
    weights_only: bool = True,
) -> LoadReport:
    """Load pretrained encoder weights into every Swin backbone of ``target`` and report what happened.

    Args:
        target: SwinUNETR, PrismEncoder, PrismPretrainModel, SwinClassifier, RegistrationEncoder, or any module
            whose backbones are MONAI ``SwinTransformer``s.
        source: checkpoint path (or an already loaded dict).
        source_format: ``"prism"``, ``"swinunetr_ssl"`` or ``"brainsegfounder"`` (see the module docstring).
        strict: fail when an encoder key of the target is missing from the checkpoint or a checkpoint key fits
            nothing; with False they are only logged.
        adapt_in_channels: how to load a patch embedding trained on fewer input channels (e.g. a 1-channel
            checkpoint into a 2-channel registration encoder): ``"repeat"`` copies the weights to every channel,
            ``"repeat_scaled"`` also divides them by the channel ratio (same response to an image repeated across
            channels). None: a channel mismatch is an error. Adaptations are listed in the report.
        weights_only: ``torch.load`` safety; set False only for a file you trust.

    Returns:
        :class:`LoadReport` (also logged at INFO level).

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable file, a file of another format, no encoder weights at all, any shape mismatch
            (key, both shapes, file), or with ``strict`` missing/unexpected keys.
    """
    source_format = look_up_option(source_format, SOURCE_FORMATS)
    if adapt_in_channels is not None:
        adapt_in_channels = look_up_option(adapt_in_channels, ADAPT_MODES)
    obj, name = _read(source, weights_only)
    canonical, ignored, unexpected_src = _canonical(_state_dict_of(obj, name, source_format), source_format)
    report = LoadReport(source=name, source_format=source_format, ignored=ignored)
    if not any(k.startswith("swinViT.") for k in canonical):
        raise ValueError(
            f"{name}: no Swin encoder weights found for source_format={source_format!r} "
            f"(checkpoint keys look like {_preview(sorted(ignored + unexpected_src), 4)})."
        )

    target_state = target.state_dict()
    prism_prefixes = _find(target, PrismEncoder)
    swin_prefixes = [p for p in _find(target, SwinTransformer) if not any(p.startswith(q) for q in prism_prefixes)]
    if not prism_prefixes and not swin_prefixes:
        raise ValueError(f"target {type(target).__name__} has no SwinTransformer backbone to load {name} into.")
    has_branches = any(k.startswith(_BRANCHES) for k in canonical)

    # target key -> canonical source key, per backbone.
    mapping: dict[str, str] = {}
    required: set[str] = set()
    used: set[str] = set()
    for prefix in prism_prefixes:
        scope = [k for k in target_state if k.startswith(prefix)]
        for tk in scope:
            ck = tk[len(prefix) :]
            if ck.startswith("swinViT.") or has_branches:
                required.add(tk)
            if ck in canonical:
                mapping[tk] = ck
    for prefix in swin_prefixes:
        for tk in (k for k in target_state if k.startswith(prefix)):
            required.add(tk)
            ck = "swinViT." + tk[len(prefix) :]
            if ck in canonical:
                mapping[tk] = ck
    if not prism_prefixes:
        report.ignored += [k for k in canonical if k.startswith(_BRANCHES)]
        used.update(k for k in canonical if k.startswith(_BRANCHES))

    mismatches: list[str] = []
    new_values: dict[str, torch.Tensor] = {}
    for tk, ck in mapping.items():
        value, expected = canonical[ck], target_state[tk].shape
        used.add(ck)
        if value.shape != expected:
            is_embed = (
                tk.endswith("patch_embed.proj.weight")
                and value.shape[:1] + value.shape[2:] == expected[:1] + expected[2:]
            )
            adaptable = is_embed and expected[1] % value.shape[1] == 0
            if adaptable and adapt_in_channels:
                value, how = _adapt_patch_embed(value, expected, adapt_in_channels)
                report.adapted[tk] = how
            else:
                hint = ""
                if adaptable:
                    hint = " (input channels differ: pass adapt_in_channels='repeat_scaled' or 'repeat' to adapt)"
                elif is_embed:
                    hint = f" ({value.shape[1]} -> {expected[1]} input channels cannot be adapted by repetition)"
                mismatches.append(
                    f"{tk}: checkpoint {ck} has shape {tuple(value.shape)}, target expects {tuple(expected)}{hint}"
                )
                continue
        new_values[tk] = value
    if mismatches:
        raise ValueError(
            f"{name} (format {source_format!r}) does not fit {type(target).__name__}: {len(mismatches)} shape "
            f"mismatch(es):\n  " + "\n  ".join(mismatches[:10]) + ("\n  ..." if len(mismatches) > 10 else "")
        )

    fixed_buffers = {tk for tk in required - set(mapping) if tk.endswith("relative_position_index")}
    report.loaded = sorted(new_values)
    report.missing = sorted(required - set(mapping) - fixed_buffers)
    report.unexpected = sorted(unexpected_src + [k for k in canonical if k not in used])
    report.kept_init = sorted((set(target_state) - required) | fixed_buffers)
    if strict and (report.missing or report.unexpected):
        raise ValueError(
            f"{name} (format {source_format!r}) does not match the encoder of {type(target).__name__}: "
            f"{len(report.missing)} missing key(s) [{_preview(report.missing)}], {len(report.unexpected)} unexpected "
            f"key(s) [{_preview(report.unexpected)}]. Check the preset (feature_size, depths) and source_format; "
            "strict=False loads the rest."
        )
    merged = dict(target_state)
    merged.update(new_values)
    target.load_state_dict(merged, strict=True)
    log = logger.warning if report.missing or report.unexpected else logger.info
    log(report.summary())
    return report


def load_prism_encoder(path: str | os.PathLike, **overrides: Any) -> PrismEncoder:
    """Build a :class:`PrismEncoder` from a :func:`save_encoder` file's metadata and load its weights (strict)."""
    meta = read_encoder_file(path)["meta"]
    if meta.get("architecture") != "PrismEncoder":
        raise ValueError(f"{path} holds a {meta.get('architecture')!r} encoder, not a PrismEncoder.")
    encoder = PrismEncoder(**{**meta["encoder"], **overrides})
    load_encoder(encoder, path, source_format="prism", strict=True)
    return encoder
