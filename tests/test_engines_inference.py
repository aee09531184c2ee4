"""Inference helpers: feature extraction shapes and contrast synthesis by fitting the P-space sample z."""

from __future__ import annotations

import pytest
import torch

from prism.engines import PredictionToKeysd, PrismFeatureExtractor, synthesize_contrast
from prism.networks import build_prism

from test_engines_pretrain_step import TINY


def test_feature_extractor_outputs():
    torch.manual_seed(0)
    model = build_prism("swin_b", **TINY).eval()
    out = PrismFeatureExtractor(model)(torch.rand(2, 1, 32, 32, 32))
    assert out["f_ana"].shape == out["f_seq"].shape == out["embedding"].shape == (2, 192)
    assert out["projection"].shape == (2, 8) and out["acquisition"].shape == (2, 3)
    torch.testing.assert_close(out["region_probs"].sum(1), torch.ones(2))
    assert "synthesis" not in out
    with pytest.raises(ValueError, match="target_tr"):
        PrismFeatureExtractor(model, synthesize=True)


def test_synthesis_fits_the_requested_contrast_without_touching_weights():
    torch.manual_seed(0)
    model = build_prism("swin_b", **TINY)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    image = torch.rand(1, 1, 32, 32, 32)
    torch.manual_seed(1)
    start = synthesize_contrast(model, image, tr=500.0, te=15.0, steps=0, candidates=1)
    torch.manual_seed(1)
    fitted = synthesize_contrast(model, image, tr=500.0, te=15.0, steps=25, lr=0.1, candidates=1, prior_weight=0.0)
    assert fitted["synthesis"].shape == image.shape
    assert fitted["achieved"].shape == (1, 3)
    assert float(fitted["error"]) < float(start["error"])  # the fit moved the metadata reading towards the request
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="at least one"):
        synthesize_contrast(model, image)
    with pytest.raises(ValueError, match="negative"):
        synthesize_contrast(model, image, tr=-1.0)


def test_prediction_to_keys():
    d = PredictionToKeysd("pred")({"image": 1, "pred": {"f_ana": 2, "synthesis": 3}})
    assert d == {"image": 1, "f_ana": 2, "synthesis": 3}
    with pytest.raises(ValueError, match="already exists"):
        PredictionToKeysd("pred")({"image": 1, "pred": {"image": 2}})
