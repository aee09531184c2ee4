"""Encoder initialisation in the segmentation bundles: PRISM and baseline checkpoints really change the encoder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser
from monai.networks.nets import SwinUNETR

from prism.networks import build_prism
from prism.engines.export import build_network_def, export_encoder
from prism.networks.weights import save_encoder

REPO = Path(__file__).resolve().parents[1]
TINY = {"feature_size": 12}  # the bundles' own tunable; depths and heads stay the Swin-B ones


def _bundle(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(REPO / "bundles" / name, tmp_path / name))


def _pretrained_network(bundle: Path, seed: int = 0, **override) -> torch.nn.Module:
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "train.yaml"))
    parser.update({"bundle_root": str(bundle), **TINY, **override})
    torch.manual_seed(seed)  # the same decoder initialisation in every build
    return parser.get_parsed_content("pretrained_network")


def _part(net: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in net.state_dict().items() if k.startswith(prefix)}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _swin_of(source: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {"swinViT." + k[len(prefix):]: v for k, v in source.state_dict().items() if k.startswith(prefix)}


def test_prism_checkpoint_from_pretraining_initialises_the_encoder(tmp_path):
    """The pretraining bundle's model, exported with its own command, initialises a segmentation bundle."""
    pretrain = Path(shutil.copytree(REPO / "bundles" / "prism_pretrain", tmp_path / "prism_pretrain"))
    bundle = _bundle(tmp_path, "prism_amos_abdomen_seg")
    overrides = {"network_def#feature_size": TINY["feature_size"]}  # a tiny run of the pretraining bundle
    torch.manual_seed(123)
    pretrained = build_network_def(pretrain, overrides=overrides)
    (pretrain / "models").mkdir(exist_ok=True)
    torch.save(pretrained.state_dict(), pretrain / "models" / "model.pt")
    export_encoder(pretrain, bundle / "models" / "prism_encoder.pt", overrides=overrides)
    net = _pretrained_network(bundle)  # default: pretrained_source prism, models/prism_encoder.pt
    scratch = _pretrained_network(bundle, pretrained_source="scratch")
    assert _same(_part(net, "swinViT."), _swin_of(pretrained, "encoder.swinViT."))
    assert not _same(_part(net, "swinViT."), _part(scratch, "swinViT."))
    # Only the encoder changes: the decoder keeps its (seeded) initialisation.
    assert _same(_part(net, "decoder1."), _part(scratch, "decoder1."))
    assert _same(_part(net, "out."), _part(scratch, "out."))


def _ssl_checkpoint(swin: torch.nn.Module) -> dict:
    """The layout of the public SwinUNETR self-supervised weights (model_swinvit.pt)."""
    state = {
        "module." + k.replace(".mlp.linear1.", ".mlp.fc1.").replace(".mlp.linear2.", ".mlp.fc2."): v.clone()
        for k, v in swin.state_dict().items()
    }
    state["module.rotation_head.weight"] = torch.randn(4, 8 * TINY["feature_size"])
    return {"epoch": 10, "state_dict": state}


@pytest.mark.parametrize("source", ["swinunetr_ssl", "brainsegfounder"])
def test_baseline_checkpoints_initialise_the_encoder(tmp_path, source):
    bundle = _bundle(tmp_path, "prism_promise12_prostate_seg")
    torch.manual_seed(7)
    other = SwinUNETR(in_channels=1, out_channels=5, **TINY)
    if source == "swinunetr_ssl":
        torch.save(_ssl_checkpoint(other.swinViT), bundle / "models" / "model_swinvit.pt")
    else:  # BrainSegFounder: a whole SwinUNETR checkpoint saved from DDP
        torch.save({"state_dict": {"module." + k: v for k, v in other.state_dict().items()}},
                   bundle / "models" / "brainsegfounder.pt")  # fmt: skip
    net = _pretrained_network(bundle, pretrained_source=source)
    scratch = _pretrained_network(bundle, pretrained_source="scratch")
    assert _same(_part(net, "swinViT."), _part(other, "swinViT."))
    assert not _same(_part(net, "swinViT."), _part(scratch, "swinViT."))
    assert _same(_part(net, "decoder1."), _part(scratch, "decoder1."))


def test_multi_sequence_bundle_spreads_one_channel_weights_over_its_channels(tmp_path):
    bundle = _bundle(tmp_path, "prism_brats2021_tumour_seg")
    torch.manual_seed(5)
    pretrained = build_prism("swin_b", **TINY)
    save_encoder(pretrained, bundle / "models" / "prism_encoder.pt")
    net = _pretrained_network(bundle)
    src = pretrained.encoder.swinViT.patch_embed.proj.weight
    assert net.swinViT.patch_embed.proj.weight.shape[1] == 4
    assert torch.allclose(net.swinViT.patch_embed.proj.weight, src.repeat(1, 4, 1, 1, 1) / 4)


def test_missing_or_mismatched_weights_fail_loudly(tmp_path):
    bundle = _bundle(tmp_path, "prism_amos_abdomen_seg")
    with pytest.raises(Exception) as missing:
        _pretrained_network(bundle)
    assert "prism_encoder.pt" in "".join(str(e) for e in _chain(missing.value))
    save_encoder(build_prism("swin_b", feature_size=24), bundle / "models" / "prism_encoder.pt")
    with pytest.raises(Exception) as mismatched:
        _pretrained_network(bundle)
    assert any(isinstance(e, ValueError) and "shape" in str(e) for e in _chain(mismatched.value))


def _chain(exc: BaseException) -> list[BaseException]:
    out = []
    while exc is not None:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out
