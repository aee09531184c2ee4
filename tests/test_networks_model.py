"""PRISM network: presets, shapes, input checks, gradients of every part from its own loss."""

from __future__ import annotations

import pytest
import torch
from monai.networks.nets import SwinUNETR

from prism.losses import (
    discriminator_adversarial_loss,
    generator_adversarial_loss,
    info_nce_loss,
    metadata_loss,
    reconstruction_loss,
)
from prism.networks import PrismEncoder, PrismPretrainModel, build_prism, get_preset, list_presets
from prism.vocabulary import BODY_REGIONS, normalise_acquisition
from prism.networks.downstream import RegistrationEncoder, SwinClassifier

TINY = {"feature_size": 12, "depths": (1, 1, 1, 1), "num_heads": (1, 1, 1, 1)}
SIZE = 32


def _tiny(**kwargs) -> PrismPretrainModel:
    torch.manual_seed(0)
    return build_prism("swin_b", **{**TINY, **kwargs})


def test_presets_registry():
    assert list_presets() == ["swin_b", "swin_l", "swin_h"]
    assert get_preset("swin_l")["depths"] == (2, 2, 6, 2)
    assert get_preset("swin_h")["feature_size"] == 192
    with pytest.raises(ValueError, match="swin_b"):
        get_preset("swin_bb")


@pytest.mark.parametrize("preset", ["swin_b", "swin_l", "swin_h"])
def test_every_preset_runs_forward(preset):
    # The preset's depths and window, narrowed (feature_size 12, one head) so all three run in seconds.
    model = build_prism(preset, feature_size=12, num_heads=(1, 1, 1, 1)).eval()
    assert [len(layer[0].blocks) for layer in (model.encoder.swinViT.layers1, model.encoder.swinViT.layers3)] == [
        get_preset(preset)["depths"][0],
        get_preset(preset)["depths"][2],
    ]
    x = torch.randn(2, 1, SIZE, SIZE, SIZE)
    with torch.no_grad():
        feats = model.encode(x)
        assert [tuple(h.shape) for h in feats.hidden_states] == [
            (2, 12 * 2**i, SIZE // 2 ** (i + 1), SIZE // 2 ** (i + 1), SIZE // 2 ** (i + 1)) for i in range(5)
        ]
        assert feats.f_ana.shape == feats.f_seq.shape == (2, 192, 1, 1, 1)
        assert feats.fused.shape == (2, 192, 1, 1, 1)
        assert model.reconstruct(feats).shape == x.shape
        assert model.translate(feats, model.sample_z(2)).shape == x.shape
        assert model.predict_acquisition(feats).shape == (2, 3)
        assert model.predict_region(feats).shape == (2, len(BODY_REGIONS))
        proj = model.project(feats)
        assert proj.shape == (2, 128)
        assert torch.allclose(proj.norm(dim=1), torch.ones(2), atol=1e-5)
        assert model.discriminate(feats).shape == (2,)
        assert model(x).shape == x.shape


def test_swin_b_full_size_parameter_counts():
    # Pinned: these are the numbers docs/network.md and presets.py document.
    model = build_prism("swin_b")
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(model.encoder.swinViT) == 8_062_002
    assert count(model.encoder) == 10_428_210
    assert count(model) == 30_513_402  # shared skip-connected decoder, BatchNorm projector
    # Same backbone as MONAI's SwinUNETR(feature_size=48).
    ref = SwinUNETR(in_channels=1, out_channels=2, feature_size=48)
    assert count(ref.swinViT) == count(model.encoder.swinViT)


def test_swin_l_full_size_parameter_counts():
    model = build_prism("swin_l")
    assert sum(p.numel() for p in model.encoder.swinViT.parameters()) == 38_796_786
    assert sum(p.numel() for p in model.parameters()) == 123_279_090


@pytest.mark.slow
def test_swin_h_full_size_parameter_counts():
    model = build_prism("swin_h")
    assert sum(p.numel() for p in model.encoder.swinViT.parameters()) == 239_485_794
    assert sum(p.numel() for p in model.parameters()) == 568_167_378


def test_state_dict_keys_match_swinunetr():
    model = _tiny()
    ref = SwinUNETR(in_channels=1, out_channels=2, **TINY)
    ours = {k: v.shape for k, v in model.encoder.state_dict().items() if k.startswith("swinViT.")}
    theirs = {k: v.shape for k, v in ref.state_dict().items() if k.startswith("swinViT.")}
    assert ours == theirs


def test_caller_overrides_win():
    model = build_prism("swin_l", feature_size=24, depths=(1, 1, 1, 1), num_heads=(1, 2, 2, 2), z_dim=16, proj_dim=8)
    assert model.encoder.config["feature_size"] == 24
    assert model.encoder.config["depths"] == [1, 1, 1, 1]
    assert model.sample_z(3).shape == (3, 16)
    assert model.projection.out_features == 8


def test_input_size_must_be_divisible_by_32():
    model = _tiny()
    with pytest.raises(ValueError, match=r"\(1, 1, 32, 48, 32\).*divisible by 32"):
        model.encode(torch.zeros(1, 1, 32, 48, 32))
    with pytest.raises(ValueError, match="channel"):
        model.encode(torch.zeros(1, 2, 32, 32, 32))
    with pytest.raises(ValueError, match="5D"):
        PrismEncoder(**TINY)(torch.zeros(1, 32, 32, 32))


def test_bad_arguments():
    with pytest.raises(ValueError, match="divisible by 12"):
        build_prism("swin_b", feature_size=50)
    with pytest.raises(ValueError, match="4 entries"):
        build_prism("swin_b", **{**TINY, "depths": (1, 1, 1)})
    with pytest.raises(ValueError, match="drop_rate"):
        build_prism("swin_b", **TINY, drop_rate=1.5)
    with pytest.raises(ValueError, match="num_heads"):
        build_prism("swin_b", feature_size=12, depths=(1, 1, 1, 1), num_heads=(5, 1, 1, 1))
    with pytest.raises(ValueError, match="decoder_channels"):
        build_prism("swin_b", **TINY, decoder_channels=(8, 8))
    model = _tiny()
    feats = model.encode(torch.zeros(2, 1, SIZE, SIZE, SIZE))
    with pytest.raises(ValueError, match="batch size"):
        model.translate(feats, model.sample_z(3))


def test_optimizer_parameter_groups_are_disjoint_and_complete():
    model = _tiny()
    gen = {id(p) for p in model.generator_parameters()}
    disc = {id(p) for p in model.discriminator_parameters()}
    assert gen and disc and not gen & disc
    assert gen | disc == {id(p) for p in model.parameters()}
    assert disc == {id(p) for p in model.discriminator.parameters()}


def _grads(model: torch.nn.Module, loss: torch.Tensor) -> dict[str, bool]:
    model.zero_grad(set_to_none=True)
    loss.backward()
    return {n: p.grad is not None and bool(p.grad.abs().sum() > 0) for n, p in model.named_parameters()}


def _parts_reached(grads: dict[str, bool]) -> set[str]:
    return {
        n.split(".")[0] + ("." + n.split(".")[1] if n.startswith("encoder.") else "") for n, g in grads.items() if g
    }


def test_gradients_reach_every_part_from_its_loss():
    model = _tiny()
    x = torch.randn(2, 1, SIZE, SIZE, SIZE)
    encoder_parts = {"encoder.swinViT", "encoder.ana_branch", "encoder.seq_branch", "encoder.aggregate"}

    # Reconstruction: encoder (swinViT and both branches) + recon head (own P-space code) + the shared translator
    # decoder (everything but the z mapping); ``fused``/aggregate is for the discriminator only.
    grads = _grads(model, reconstruction_loss(model.reconstruct(model.encode(x)), x))
    assert _parts_reached(grads) == encoder_parts - {"encoder.aggregate"} | {"recon_head", "translator"}
    assert all(g for n, g in grads.items() if n.startswith("recon_head."))
    assert all(g for n, g in grads.items() if n.startswith("translator.") and not n.startswith("translator.mapping."))
    assert not any(g for n, g in grads.items() if n.startswith("translator.mapping."))

    # Generator adversarial: translator (every parameter) and encoder, through the re-encoded translation.
    feats = model.encode(x)
    fake = model.translate(feats, model.sample_z(2))
    grads = _grads(model, generator_adversarial_loss(model.discriminate(model.encode(fake))))
    assert all(g for n, g in grads.items() if n.startswith("translator."))
    assert {"translator", "encoder.swinViT", "discriminator"} <= _parts_reached(grads)

    # Discriminator: only the discriminator when the features are detached.
    with torch.no_grad():
        real_feats, fake_feats = model.encode(x), model.encode(model.translate(model.encode(x), model.sample_z(2)))
    grads = _grads(
        model, discriminator_adversarial_loss(model.discriminate(real_feats), model.discriminate(fake_feats))
    )
    assert _parts_reached(grads) == {"discriminator"}
    assert all(g for n, g in grads.items() if n.startswith("discriminator."))

    # Metadata: acquisition head via f_seq, region head via f_ana.
    values, valid = normalise_acquisition([2000.0, 500.0], [90.0, 10.0], [90.0, 20.0])
    feats = model.encode(x)
    loss = metadata_loss(
        model.predict_acquisition(feats), values, valid, model.predict_region(feats), torch.tensor([0, 7])
    )
    grads = _grads(model, loss)
    assert _parts_reached(grads) == {
        "acquisition_head",
        "region_head",
        "encoder.swinViT",
        "encoder.ana_branch",
        "encoder.seq_branch",
    }

    # Contrastive: projection via f_ana (and the translator through the translated twin).
    feats = model.encode(x)
    twin = model.encode(model.translate(feats, model.sample_z(2)))
    grads = _grads(model, info_nce_loss(model.project(feats), model.project(twin)))
    assert {"projection", "encoder.ana_branch", "translator"} <= _parts_reached(grads)
    assert "encoder.seq_branch" in _parts_reached(grads)  # through the translator's use of f_seq
    assert all(g for n, g in grads.items() if n.startswith("projection."))


def test_sample_z_device_and_randomness():
    model = _tiny()
    z1, z2 = model.sample_z(4), model.sample_z(4, device="cpu")
    assert z1.shape == z2.shape == (4, 128) and not torch.equal(z1, z2)


def test_translation_depends_on_z():
    model = _tiny().eval()
    with torch.no_grad():
        feats = model.encode(torch.randn(1, 1, SIZE, SIZE, SIZE))
        a = model.translate(feats, torch.randn(1, 128))
        b = model.translate(feats, torch.randn(1, 128))
    assert not torch.allclose(a, b)
    assert (a - b).abs().mean() > 1e-3 * a.abs().mean()


def test_reconstruction_and_translation_share_one_decoder():
    model = _tiny()
    decoder = {id(p) for p in model.translator.decoder.parameters()}
    assert decoder and not decoder & {id(p) for p in model.recon_head.parameters()}
    # Reconstruction is the shared synthesis with the image's own P-space code instead of mapping(z).
    with torch.no_grad():
        feats = model.encode(torch.randn(2, 1, SIZE, SIZE, SIZE))
        own = model.recon_head(feats.f_seq)
        skips = feats.hidden_states[3::-1]
        assert torch.allclose(model.reconstruct(feats), model.translator.synthesise(feats.f_ana, feats.f_seq, own, skips))


@pytest.mark.parametrize("skips", [True, False])
def test_translation_carries_the_anatomy_of_its_input(skips):
    # The fault this guards against: translations of two different images differing by ~0.002 (the decoder ignored
    # its input), which left the contrastive positive pair without anatomy. Seeded, at initialisation.
    model = _tiny(decoder_skips=skips).eval()
    torch.manual_seed(1)
    x1, x2 = torch.randn(1, 1, SIZE, SIZE, SIZE), torch.randn(1, 1, SIZE, SIZE, SIZE)
    z = torch.randn(1, 128)
    with torch.no_grad():
        t1, t2 = model.translate(model.encode(x1), z), model.translate(model.encode(x2), z)
    between_inputs = (t1 - t2).abs().mean()
    if skips:  # default: measured 0.17 between translations vs. 1.12 between inputs, output scale 0.13
        assert between_inputs > 0.05 * (x1 - x2).abs().mean()
        assert between_inputs > 0.5 * t1.abs().mean()
    else:  # the deepest map alone is one voxel at 32^3: little anatomy gets through (why skips are the default)
        assert between_inputs < 0.02 * (x1 - x2).abs().mean()


def test_downstream_encoders():
    clf = SwinClassifier(in_channels=2, num_outputs=3, **TINY)
    assert clf(torch.zeros(2, 2, SIZE, SIZE, SIZE)).shape == (2, 3)
    reg = RegistrationEncoder(image_channels=1, **TINY)
    hs = reg(torch.zeros(1, 1, SIZE, SIZE, SIZE), torch.zeros(1, 1, SIZE, SIZE, SIZE))
    assert len(hs) == 5 and hs[-1].shape == (1, 192, 1, 1, 1)
    assert reg.swinViT.patch_embed.proj.in_channels == 2
    with pytest.raises(ValueError, match="same shape"):
        reg(torch.zeros(1, 1, SIZE, SIZE, SIZE), torch.zeros(1, 2, SIZE, SIZE, SIZE))
