"""End-to-end runs of the prism_pretrain bundle as a user starts them: a 2-process gloo ``torchrun`` run, and a
``python -m monai.bundle run`` killed (SIGKILL) after its first checkpoint that resumes and ends in the same state
as an uninterrupted run with the same seed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from prism.demo import DEMO_NETWORK

BUNDLE = Path(__file__).resolve().parents[1] / "bundles" / "prism_pretrain"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def datalist(tmp_path_factory) -> Path:
    from prism.data.corpus import corpus_command
    from prism.data.simulator import simulate_corpus

    root = tmp_path_factory.mktemp("corpus")
    simulate_corpus(root / "sim", subjects=2, seed=1, shape=32, spacing=6.0, sequences=["t1w_se", "t2w", "flair", "pdw"])
    corpus_command(str(root / "sim"), out=str(root / "lists" / "datalist.json"), val_fraction=0.5)
    return root / "lists" / "datalist.json"


def _args(run_dir: Path, datalist: Path, epochs: int) -> list[str]:
    overrides = {
        "bundle_root": run_dir, "datalist": datalist, **DEMO_NETWORK, "roi_size": [32, 32, 32],
        "pixdim": [6.0, 6.0, 6.0], "mask_block_size": 8, "batch_size": 2, "num_workers": 0, "cache_rate": 1.0,
        "num_epochs": epochs, "learning_rate": 1e-3, "log_interval": 1,
    }
    args = ["--meta_file", "configs/metadata.json", "--logging_file", "configs/logging.conf"]
    for key, value in overrides.items():
        args += [f"--{key}", str(value).replace(" ", "")]
    return args


def _env() -> dict[str, str]:
    # one thread per process: CPU kernels then reduce in a fixed order, so two runs compare bitwise
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def test_torchrun_two_process_gloo(datalist, tmp_path):
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "monai.bundle",
        "run", "--config_file", "['configs/train.yaml','configs/multi_gpu_train.yaml']",
        *_args(tmp_path / "run", datalist, epochs=2),
    ]
    proc = subprocess.run(cmd, cwd=BUNDLE, env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    import json

    per_epoch = len(json.loads(datalist.read_text())["training"]) // (2 * 2)  # 2 ranks x batch 2, drop_last
    assert per_epoch >= 1
    ckpts = sorted((tmp_path / "run" / "models").glob("checkpoint_iter*.pt"))
    assert [p.name for p in ckpts] == [f"checkpoint_iter{per_epoch * e:09d}.pt" for e in (1, 2)]
    assert log.count("saved checkpoint") == 2  # rank 0 only
    assert log.count("Epoch[2] Complete") == 2  # both ranks trained
    state = torch.load(ckpts[-1], weights_only=True)
    assert state["trainer"]["iteration"] == 2 * per_epoch and not any(k.startswith("module.") for k in state["model"])
    assert (tmp_path / "run" / "eval" / "loss_curves.png").exists()


def test_killed_run_resumes_to_the_same_state(datalist, tmp_path):
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", "configs/train.yaml"]
    straight = subprocess.run(
        cmd + _args(tmp_path / "straight", datalist, epochs=4), cwd=BUNDLE, env=_env(), capture_output=True,
        text=True, timeout=900,
    )
    assert straight.returncode == 0, straight.stderr[-3000:]

    models = tmp_path / "killed" / "models"
    proc = subprocess.Popen(
        cmd + _args(tmp_path / "killed", datalist, epochs=4), cwd=BUNDLE, env=_env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 600
    while not list(models.glob("checkpoint_iter*.pt")) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (models / "model.pt").exists()
    first = sorted(models.glob("checkpoint_iter*.pt"))
    final = torch.load(sorted((tmp_path / "straight" / "models").glob("checkpoint_iter*.pt"))[-1], weights_only=True)
    assert first and torch.load(first[-1], weights_only=True)["trainer"]["iteration"] < final["trainer"]["iteration"]

    resumed = subprocess.run(
        cmd + _args(tmp_path / "killed", datalist, epochs=4), cwd=BUNDLE, env=_env(), capture_output=True,
        text=True, timeout=900,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming from" in resumed.stdout + resumed.stderr
    a = torch.load(tmp_path / "straight" / "models" / "model.pt", weights_only=True)
    b = torch.load(models / "model.pt", weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    last_a = sorted((tmp_path / "straight" / "models").glob("checkpoint_iter*.pt"))[-1]
    last_b = sorted(models.glob("checkpoint_iter*.pt"))[-1]
    ca, cb = torch.load(last_a, weights_only=True), torch.load(last_b, weights_only=True)
    assert ca["trainer"]["iteration"] == cb["trainer"]["iteration"]
    assert ca["generator_scheduler"] == cb["generator_scheduler"]
    assert ca["loss_history"] == cb["loss_history"]
