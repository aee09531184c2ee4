"""Encoder weights in and out: PRISM -> SwinUNETR equivalence, SSL / BrainSegFounder import, loud failures."""

from __future__ import annotations

import logging

import pytest
import torch
from monai.networks.nets import SwinUNETR

from prism.bundle import init_from_pretrained
from prism.networks import PrismEncoder, build_prism
from prism.networks.downstream import RegistrationEncoder, SwinClassifier
from prism.networks.weights import (
    LoadReport,
    load_encoder,
    load_prism_encoder,
    read_encoder_file,
    save_encoder,
)

TINY = {"feature_size": 12, "depths": (1, 1, 1, 1), "num_heads": (1, 1, 1, 1)}
SIZE = 32


def _prism(seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    return build_prism("swin_b", **{**TINY, **kwargs})


def _unetr(seed: int = 1, in_channels: int = 1, **kwargs) -> SwinUNETR:
    torch.manual_seed(seed)
    return SwinUNETR(in_channels=in_channels, out_channels=3, **{**TINY, **kwargs})


def _swin_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _ssl_checkpoint(swin: torch.nn.Module) -> dict:
    """The public model_swinvit.pt layout: DDP prefix, timm-style mlp.fc1/fc2 names, extra SSL heads."""
    state = {}
    for k, v in swin.state_dict().items():
        state["module." + k.replace(".mlp.linear1.", ".mlp.fc1.").replace(".mlp.linear2.", ".mlp.fc2.")] = v.clone()
    state["module.rotation_head.weight"] = torch.randn(4, 192)
    state["module.rotation_head.bias"] = torch.randn(4)
    state["module.contrastive_head.weight"] = torch.randn(512, 192)
    state["module.contrastive_head.bias"] = torch.randn(512)
    state["module.convTrans3d.weight"] = torch.randn(192, 1, 32, 32, 32)[:, :, :2, :2, :2].clone()
    state["module.conv.0.weight"] = torch.randn(96, 192, 3, 3, 3)
    return {"epoch": 100, "state_dict": state}


@pytest.mark.parametrize("use_v2", [False, True])  # the paper's code uses SwinUNETR v2 blocks
def test_prism_encoder_into_swinunetr_gives_identical_features(tmp_path, use_v2):
    model = _prism(0, use_v2=use_v2).eval()
    path = save_encoder(model, tmp_path / "encoder.pt", extra_meta={"preset": "swin_b", "step": 3})
    unetr = _unetr(1, use_v2=use_v2).eval()
    assert not _swin_equal(unetr.swinViT, model.encoder.swinViT)
    report = load_encoder(unetr, path, source_format="prism")
    assert isinstance(report, LoadReport)
    assert _swin_equal(unetr.swinViT, model.encoder.swinViT)
    n_swin = len([k for k in unetr.state_dict() if k.startswith("swinViT.")])
    assert len(report.loaded) == n_swin and not report.missing and not report.unexpected
    assert {k.split(".")[0] for k in report.ignored} == {"ana_branch", "seq_branch", "aggregate"}
    assert all(not k.startswith("swinViT.") for k in report.kept_init)
    x = torch.randn(2, 1, 64, 64, 64)  # 64: SwinUNETR's instance norms need more than one deepest voxel
    with torch.no_grad():
        ours = model.encode(x).hidden_states
        theirs = unetr.swinViT(x, unetr.normalize)
        assert unetr(x).shape == (2, 3, 64, 64, 64)
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)


def test_encoder_file_is_weights_only_and_round_trips(tmp_path):
    model = _prism(0, branch_channels=24).eval()
    path = save_encoder(model.encoder, tmp_path / "sub" / "enc.pt", extra_meta={"preset": "swin_b"})
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "prism-encoder" and raw["format_version"] == 1
    assert raw["meta"]["encoder"]["branch_channels"] == 24 and raw["meta"]["preset"] == "swin_b"
    assert all(isinstance(v, torch.Tensor) for v in raw["state_dict"].values())
    assert read_encoder_file(path)["meta"]["architecture"] == "PrismEncoder"
    encoder = load_prism_encoder(path).eval()
    x = torch.randn(1, 1, SIZE, SIZE, SIZE)
    with torch.no_grad():
        a, b = model.encode(x), encoder(x)
    assert torch.equal(a.f_ana, b.f_ana) and torch.equal(a.f_seq, b.f_seq) and torch.equal(a.fused, b.fused)
    with pytest.raises(ValueError, match="JSON"):
        save_encoder(model, tmp_path / "bad.pt", extra_meta={"x": object()})


def test_prism_into_prism_loads_branches_and_full_model_state(tmp_path):
    src = _prism(0)
    dst = _prism(5)
    report = load_encoder(dst, save_encoder(src, tmp_path / "e.pt"))
    assert _swin_equal(dst.encoder, src.encoder)
    assert not _swin_equal(dst.recon_head, src.recon_head)  # heads keep their initialisation
    assert any(k.startswith("recon_head.") for k in report.kept_init)
    # A full PrismPretrainModel state dict (e.g. a training checkpoint) is also accepted.
    torch.save({"network": src.state_dict()}, tmp_path / "full.pt")
    enc = PrismEncoder(**TINY)
    report = load_encoder(enc, tmp_path / "full.pt")
    assert _swin_equal(enc, src.encoder)
    assert {k.split(".")[0] for k in report.ignored} >= {"recon_head", "translator", "discriminator"}
    # ... also from a torch.compile'd / DDP-wrapped model.
    wrapped = {"module._orig_mod." + k: v for k, v in src.state_dict().items()}
    enc = PrismEncoder(**TINY)
    report = load_encoder(enc, {"state_dict": wrapped})
    assert _swin_equal(enc, src.encoder) and not report.missing and not report.unexpected


def test_swinunetr_ssl_format_matches_monai_load_from(tmp_path):
    torch.manual_seed(3)
    source = _unetr(3).swinViT  # any SwinTransformer with the SSL model's layout
    ckpt = _ssl_checkpoint(source)
    torch.save(ckpt, tmp_path / "model_swinvit.pt")
    ours = _unetr(7)
    report = load_encoder(ours, tmp_path / "model_swinvit.pt", source_format="swinunetr_ssl")
    assert _swin_equal(ours.swinViT, source)
    assert not report.missing and not report.unexpected
    assert {"module.rotation_head.weight", "module.contrastive_head.weight", "module.conv.0.weight"} <= set(
        report.ignored
    )
    # MONAI's own SwinUNETR.load_from reads the same key names: both must agree exactly.
    ref = _unetr(7)
    ref.load_from(ckpt)
    assert _swin_equal(ref.swinViT, ours.swinViT)
    # Into the PRISM model: swinViT loads, the disentanglement branches keep their initialisation.
    model = _prism(0)
    before = {k: v.clone() for k, v in model.encoder.ana_branch.state_dict().items()}
    report = load_encoder(model, tmp_path / "model_swinvit.pt", source_format="swinunetr_ssl")
    assert _swin_equal(model.encoder.swinViT, source)
    assert all(torch.equal(before[k], v) for k, v in model.encoder.ana_branch.state_dict().items())
    assert "encoder.ana_branch.0.weight" in report.kept_init


@pytest.mark.parametrize("prefix", ["module.swinViT.", "swinViT."])
@pytest.mark.parametrize("wrapper", ["state_dict", "model_state_dict", None])
def test_brainsegfounder_format(tmp_path, prefix, wrapper):
    src = _unetr(11, in_channels=1)
    state = {
        (
            prefix + k[len("swinViT.") :]
            if k.startswith("swinViT.")
            else ("module." if prefix.startswith("module.") else "") + k
        ): v
        for k, v in src.state_dict().items()
    }
    torch.save({wrapper: state, "epoch": 3} if wrapper else state, tmp_path / "bsf.pt")
    clf = SwinClassifier(in_channels=1, num_outputs=2, **TINY)
    report = load_encoder(clf, tmp_path / "bsf.pt", source_format="brainsegfounder")
    assert _swin_equal(clf.swinViT, src.swinViT)
    assert not report.missing and not report.unexpected
    assert any("decoder1" in k for k in report.ignored)
    assert "head.0.weight" in report.kept_init


def test_every_backbone_of_a_multi_encoder_target_is_loaded(tmp_path):
    class TwoSequences(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.t1 = SwinClassifier(num_outputs=2, **TINY)
            self.t2 = SwinClassifier(num_outputs=2, **TINY)

    src = _prism(0)
    net = TwoSequences()
    report = load_encoder(net, save_encoder(src, tmp_path / "e.pt"))
    assert _swin_equal(net.t1.swinViT, src.encoder.swinViT) and _swin_equal(net.t2.swinViT, src.encoder.swinViT)
    assert len(report.loaded) == 2 * len(src.encoder.swinViT.state_dict())


def test_registration_encoder_needs_explicit_channel_adaptation(tmp_path):
    src = _prism(0)
    path = save_encoder(src, tmp_path / "e.pt")
    reg = RegistrationEncoder(image_channels=1, **TINY)
    with pytest.raises(
        ValueError, match=r"patch_embed\.proj\.weight.*\(12, 1, 2, 2, 2\).*\(12, 2, 2, 2, 2\).*adapt_in_channels"
    ):
        load_encoder(reg, path)
    report = load_encoder(reg, path, adapt_in_channels="repeat_scaled")
    key = "swinViT.patch_embed.proj.weight"
    assert "1 -> 2 input channels" in report.adapted[key] and "divided by 2" in report.adapted[key]
    w_src = src.encoder.swinViT.patch_embed.proj.weight
    w = reg.swinViT.patch_embed.proj.weight
    assert torch.allclose(w, torch.cat([w_src, w_src], dim=1) / 2)
    # The same image as moving and fixed gives the single-image encoder's features.
    x = torch.randn(1, 1, SIZE, SIZE, SIZE)
    with torch.no_grad():
        assert torch.allclose(reg(x, x)[-1], src.encoder.swinViT(x)[-1], atol=1e-5)
    report = load_encoder(reg, path, adapt_in_channels="repeat")
    assert torch.allclose(reg.swinViT.patch_embed.proj.weight, torch.cat([w_src, w_src], dim=1))
    # Fewer target channels than the checkpoint cannot be adapted by repetition.
    two_channel = save_encoder(reg, tmp_path / "reg.pt")
    with pytest.raises(ValueError, match="2 -> 1 input channels cannot be adapted"):
        load_encoder(_unetr(1), two_channel, adapt_in_channels="repeat")


def test_wrong_shape_fails_naming_key_shapes_and_file(tmp_path):
    path = save_encoder(_prism(0, feature_size=24), tmp_path / "wide.pt")
    with pytest.raises(ValueError) as err:
        load_encoder(_unetr(1), path)
    message = str(err.value)
    assert str(path) in message and "swinViT.patch_embed.proj.weight" in message
    assert "(24, 1, 2, 2, 2)" in message and "(12, 1, 2, 2, 2)" in message


def test_wrong_depth_fails_as_missing_or_unexpected(tmp_path):
    path = save_encoder(_prism(0), tmp_path / "e.pt")
    deeper = _unetr(1, depths=(1, 1, 2, 1))
    with pytest.raises(ValueError, match=r"13 missing key.*layers3\.0\.blocks\.1\."):
        load_encoder(deeper, path)
    with pytest.raises(ValueError, match=r"unexpected key"):
        load_encoder(
            _unetr(1, depths=(1, 1, 1, 1)),
            {
                "state_dict": {
                    **torch.load(path)["state_dict"],
                    "swinViT.layers3.0.blocks.1.norm1.weight": torch.ones(48),
                }
            },
        )


def test_non_strict_reports_and_logs(tmp_path, caplog):
    path = save_encoder(_prism(0), tmp_path / "e.pt")
    deeper = _unetr(1, depths=(1, 1, 2, 1))
    with caplog.at_level(logging.WARNING, logger="prism.networks.weights"):
        report = load_encoder(deeper, path, strict=False)
    assert report.missing and all(".layers3.0.blocks.1." in k for k in report.missing)
    assert "missing" in caplog.text and str(path) in caplog.text
    assert torch.equal(deeper.swinViT.patch_embed.proj.weight, _prism(0).encoder.swinViT.patch_embed.proj.weight)


def test_wrong_keys_and_wrong_files_fail_clearly(tmp_path):
    # A checkpoint of something else entirely.
    torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2), "fc.bias": torch.zeros(2)}}, tmp_path / "resnet.pt")
    with pytest.raises(ValueError, match=r"resnet\.pt: no Swin encoder weights found.*fc\."):
        load_encoder(_unetr(1), tmp_path / "resnet.pt")
    # Not a checkpoint at all.
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match=r"notes\.txt is not a PyTorch checkpoint"):
        load_encoder(_unetr(1), tmp_path / "notes.txt")
    # Truncated checkpoint.
    good = save_encoder(_prism(0), tmp_path / "good.pt")
    (tmp_path / "cut.pt").write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ValueError, match=r"cut\.pt is not a loadable PyTorch checkpoint"):
        load_encoder(_unetr(1), tmp_path / "cut.pt")
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        load_encoder(_unetr(1), tmp_path / "nowhere.pt")
    # A PRISM file announced as another format, and an unknown format name.
    with pytest.raises(ValueError, match="source_format='prism'"):
        load_encoder(_unetr(1), good, source_format="swinunetr_ssl")
    with pytest.raises(ValueError, match="brainsegfounder"):
        load_encoder(_unetr(1), good, source_format="brainsegfounde")
    # Pickled objects are refused under weights_only=True.
    torch.save({"state_dict": {"swinViT.x": torch.zeros(1)}, "args": _Opaque()}, tmp_path / "pickled.pt")
    with pytest.raises(ValueError, match="weights_only"):
        load_encoder(_unetr(1), tmp_path / "pickled.pt")
    # A target without a Swin backbone.
    with pytest.raises(ValueError, match="no SwinTransformer"):
        load_encoder(torch.nn.Linear(2, 2), good)


class _Opaque:
    pass


def test_init_from_pretrained(tmp_path):
    net = _unetr(1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert init_from_pretrained(net, None, "scratch") is net
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    src = _prism(0)
    path = save_encoder(src, tmp_path / "e.pt")
    assert init_from_pretrained(net, str(path), "prism") is net
    assert _swin_equal(net.swinViT, src.encoder.swinViT)
    assert torch.equal(net.decoder1.conv_block.conv1.conv.weight, before["decoder1.conv_block.conv1.conv.weight"])
    with pytest.raises(ValueError, match="needs a checkpoint path"):
        init_from_pretrained(net, "", "prism")
    with pytest.raises(ValueError, match="scratch"):
        init_from_pretrained(net, path, "scrach")


def test_missing_pretrained_weights_say_how_to_get_them(tmp_path):
    """A fresh download has no weights: the error says where they come from and how to start from scratch."""
    missing = tmp_path / "models" / "prism_encoder.pt"
    with pytest.raises(FileNotFoundError) as info:
        init_from_pretrained(_unetr(1), missing, "prism")
    message = str(info.value)
    assert str(missing) in message and "prism export-encoder" in message and "--pretrained_source scratch" in message
    with pytest.raises(FileNotFoundError, match="model_swinvit.pt"):
        init_from_pretrained(_unetr(1), tmp_path / "model_swinvit.pt", "swinunetr_ssl")
