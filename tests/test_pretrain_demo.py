"""``prism demo`` end to end with a smaller corpus and fewer epochs than its defaults."""

from __future__ import annotations

import csv

import pytest
import torch

@pytest.mark.slow
def test_demo_writes_curves_checkpoint_and_encoder(tmp_path):
    from prism.demo import demo
    from prism.networks.weights import read_encoder_file

    curves = demo(out=str(tmp_path / "demo"), subjects=2, epochs=3, size=32, spacing=6.0, batch_size=2)
    run = tmp_path / "demo" / "run"
    assert curves == str(run / "eval" / "loss_curves.png") and (run / "eval" / "loss_curves.png").stat().st_size > 0
    rows = list(csv.DictReader(open(run / "eval" / "loss_history.csv")))
    assert {"reconstruction", "acquisition", "region", "contrastive", "adversarial_d"} <= set(rows[0])
    assert max(float(r["epoch"]) for r in rows) == 3
    assert torch.load(run / "models" / "model.pt", weights_only=True)
    assert any(k.startswith("swinViT.") for k in read_encoder_file(tmp_path / "demo" / "encoder.pt")["state_dict"])
    # a second call starts afresh in the same folder (its own previous run is replaced, the corpus reused)
    demo(out=str(tmp_path / "demo"), subjects=2, epochs=1, size=32, spacing=6.0, batch_size=2)
    rows = list(csv.DictReader(open(run / "eval" / "loss_history.csv")))
    assert max(float(r["epoch"]) for r in rows) == 1


def test_demo_refuses_a_folder_it_did_not_make(tmp_path):
    from prism.demo import demo

    (tmp_path / "demo" / "run").mkdir(parents=True)
    with pytest.raises(ValueError, match="not made by prism demo"):
        demo(out=str(tmp_path / "demo"), subjects=1, epochs=1)
