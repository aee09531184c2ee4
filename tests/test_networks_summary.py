"""``prism summary``: parameter table and output shapes, through the function and the CLI."""

from __future__ import annotations

import pytest

from prism.cli import main
from prism.networks.summary import summary


def test_summary_prints_parts_and_shapes(capsys):
    summary(preset="swin_b", roi=32, feature_size=12, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1))
    out = capsys.readouterr().out
    for part in ("encoder.swinViT", "recon_head", "translator", "discriminator", "projection", "total"):
        assert part in out
    assert "reconstruct           1x1x32x32x32" in out
    assert "f_ana                 1x192x1x1x1" in out
    assert "predict_region        1x11" in out


def test_summary_cli(capsys):
    main(["summary", "--preset", "swin_b", "--roi", "32", "--feature_size", "12", "--in_channels", "2"])
    out = capsys.readouterr().out
    assert "translate             1x2x32x32x32" in out


def test_summary_rejects_bad_roi_and_preset():
    with pytest.raises(ValueError, match="multiple of 32"):
        summary(roi=40)
    with pytest.raises(ValueError, match="swin_h"):
        summary(preset="swin_hh", roi=32)
