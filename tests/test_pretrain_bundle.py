"""The prism_pretrain bundle: offline metadata and network checks, overlays, a tiny training run with MLflow and
TensorBoard, resume from a checkpoint, inference (features and contrast synthesis), encoder export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from prism.demo import DEMO_NETWORK

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "prism_pretrain"
CONFIGS = BUNDLE / "configs"
SCHEMA = Path(__file__).resolve().parents[1] / "common" / "prism" / "bundle" / "schema" / "meta_schema_20240725.json"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Two simulated subjects x 4 sequences at 32^3 (6 mm) and their datalist."""
    from prism.data.corpus import corpus_command
    from prism.data.simulator import simulate_corpus

    root = tmp_path_factory.mktemp("corpus")
    simulate_corpus(root / "sim", subjects=2, seed=0, shape=32, spacing=6.0, sequences=["t1w_se", "t2w", "flair", "pdw"])
    corpus_command(str(root / "sim"), out=str(root / "lists" / "datalist.json"), val_fraction=0.5)
    return root / "lists" / "datalist.json"


def _overrides(run_dir: Path, datalist: Path, **extra) -> dict:
    return {
        "bundle_root": str(run_dir),
        "datalist": str(datalist),
        **DEMO_NETWORK,
        "roi_size": [32, 32, 32],
        "pixdim": [6.0, 6.0, 6.0],
        "mask_block_size": 8,
        "batch_size": 2,
        "num_workers": 0,
        "cache_rate": 1.0,
        "num_epochs": 2,
        "learning_rate": 1e-3,
        "log_interval": 1,
        **extra,
    }


def _workflow(config_file, overrides: dict, workflow_type: str = "train", **kwargs):
    from monai.bundle import ConfigWorkflow

    wf = ConfigWorkflow(
        config_file=config_file, meta_file=str(CONFIGS / "metadata.json"), workflow_type=workflow_type, **kwargs,
        **overrides,
    )
    wf.initialize()
    return wf


def test_verify_metadata_offline():
    from monai.bundle import verify_metadata

    verify_metadata(meta_file=str(CONFIGS / "metadata.json"), filepath=str(SCHEMA))  # raises when invalid


def test_verify_metadata_rejects_a_broken_file(tmp_path):
    from monai.bundle import verify_metadata

    meta = json.loads((CONFIGS / "metadata.json").read_text())
    del meta["network_data_format"]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(Exception):
        verify_metadata(meta_file=str(tmp_path / "metadata.json"), filepath=str(SCHEMA))


def test_verify_net_in_out():
    from monai.bundle import verify_net_in_out

    verify_net_in_out(
        net_id="network_def", meta_file=str(CONFIGS / "metadata.json"), config_file=str(CONFIGS / "train.yaml"),
        n=1, **DEMO_NETWORK,
    )


def test_one_inference_config():
    """MONAI Label reads inference.json before inference.yaml: a second copy would have its edits ignored."""
    assert (CONFIGS / "inference.json").is_file() and not (CONFIGS / "inference.yaml").exists()


@pytest.mark.parametrize("ablation", ["mir", "mir_meta", "mir_meta_tran", "full"])
def test_ablation_overlays(ablation):
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config([str(CONFIGS / "train.yaml"), str(CONFIGS / "ablation" / f"{ablation}.yaml")])
    for key, value in DEMO_NETWORK.items():
        parser[key] = value
    objectives = parser.get_parsed_content("pretrain_objectives")
    from prism.engines import ABLATIONS

    assert objectives.objectives == ABLATIONS[ablation]


@pytest.mark.parametrize("size", ["swin_b", "swin_l", "swin_h"])
def test_size_overlays(size):
    from monai.bundle import ConfigParser

    from prism.networks import PRESETS

    parser = ConfigParser()
    parser.read_config([str(CONFIGS / "train.yaml"), str(CONFIGS / "size" / f"{size}.yaml")])
    assert parser.get_parsed_content("network_def#preset") == size and size in PRESETS


def test_train_tracking_resume_inference_export(corpus, tmp_path):
    import logging

    import mlflow

    from prism.bundle import latest_checkpoint
    from prism.engines.export import export_encoder
    from prism.networks.weights import read_encoder_file

    run = tmp_path / "run"
    wf = _workflow(str(CONFIGS / "train.yaml"), _overrides(run, corpus, num_epochs=1), tracking="mlflow")
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # MONAI's logging set-up replaces root handlers, so listen on the logger itself
    progress_logger = logging.getLogger("prism.pretrain")
    progress_logger.addHandler(handler)
    progress_logger.setLevel(logging.INFO)
    try:
        wf.run()
    finally:
        progress_logger.removeHandler(handler)
    wf.finalize()
    progress = [r.getMessage() for r in records]
    assert progress and all("reconstruction=" in m and "lr_generator=" in m and "samples/s" in m for m in progress)
    first = latest_checkpoint(run / "models")
    assert first is not None and (run / "models" / "model.pt").exists()
    assert (run / "eval" / "loss_curves.png").stat().st_size > 0
    assert list((run / "eval" / "tensorboard").glob("events.out.tfevents.*"))
    # MLflow: MONAI's default SQLite store under output_dir holds the run with its loss metric
    db = run / "eval" / "mlruns.db"
    assert db.exists()
    client = mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{db}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert runs and "train_loss" in runs[0].data.metrics

    # resume: a second run with more epochs continues from the checkpoint (iteration count carries over)
    iterations = torch.load(first, weights_only=True)["trainer"]["iteration"]
    wf = _workflow(str(CONFIGS / "train.yaml"), _overrides(run, corpus, num_epochs=2))
    wf.run()
    trainer = wf.parser.get_parsed_content("train#trainer")
    assert trainer.state.epoch == 2 and trainer.state.iteration == 2 * iterations
    history = torch.load(latest_checkpoint(run / "models"), weights_only=True)["loss_history"]
    assert history["iteration"] == [float(i) for i in range(1, 2 * iterations + 1)]
    wf.finalize()

    # inference: features and a synthesis in a requested contrast, back in the input's space
    data = tmp_path / "nifti"
    data.mkdir()
    source = sorted(Path(corpus).parent.parent.glob("sim/sub-001/anat/*T2w.nii.gz"))[0]
    (data / source.name).symlink_to(source)
    out = tmp_path / "inference"
    wf = _workflow(
        str(CONFIGS / "inference.json"),
        {
            "bundle_root": str(run), "dataset_dir": str(data), "output_dir": str(out), "pixdim": [6.0, 6.0, 6.0],
            "synthesize": True, "target_tr": 500, "target_te": 15, "synthesis_steps": 2, "synthesis_candidates": 2,
            **DEMO_NETWORK,
        },
        workflow_type="infer",
    )
    wf.run()
    wf.finalize()
    stem = source.name[: -len(".nii.gz")]
    feats = torch.load(out / f"{stem}_features.pt", weights_only=True)
    assert feats["f_ana"].shape == feats["f_seq"].shape == (192,)
    assert feats["acquisition"].shape == feats["synthesis_acquisition"].shape == (3,)
    import nibabel as nib

    syn, src = nib.load(out / stem / f"{stem}_synthesis.nii.gz"), nib.load(source)
    assert syn.shape == src.shape
    assert torch.allclose(torch.as_tensor(syn.affine), torch.as_tensor(src.affine), atol=1e-4)

    # encoder export, in the format downstream bundles read
    path = export_encoder(BUNDLE, tmp_path / "encoder.pt", latest_checkpoint(run / "models"), overrides=DEMO_NETWORK)
    payload = read_encoder_file(path)
    assert any(k.startswith("swinViT.") for k in payload["state_dict"])
    model = torch.load(run / "models" / "model.pt", weights_only=True)
    key = "encoder.swinViT.patch_embed.proj.weight"
    assert torch.equal(payload["state_dict"][key[len("encoder.") :]], model[key])


def test_cached_data_overlay(corpus, tmp_path):
    from prism.data.cache import CachedVolumeDataset

    run = tmp_path / "run"
    wf = _workflow([str(CONFIGS / "train.yaml"), str(CONFIGS / "cached_data.yaml")], _overrides(run, corpus, num_epochs=1))
    assert isinstance(wf.parser.get_parsed_content("train#dataset"), CachedVolumeDataset)
    wf.run()
    wf.finalize()
    assert len(list((run / "cache").glob("*.npy"))) == 4  # one entry per training volume
    assert (run / "models" / "model.pt").exists()
