"""``prism demo``: simulate a small multi-sequence MRI corpus and pretrain a tiny PRISM on it, on CPU, in minutes.

Everything goes through the public pieces a user would run: :func:`prism.data.simulator.simulate_corpus`
(``prism simulate``), the corpus builder (``prism corpus``), the ``prism_pretrain`` bundle run as a MONAI
``ConfigWorkflow`` with ordinary config overrides (the same as ``python -m monai.bundle run ... --id value``),
and ``prism export-encoder``. Outputs under ``--out``:

- ``corpus/`` simulated BIDS-style NIfTI with JSON sidecars, ``datalist/datalist.json``;
- ``run/eval/loss_curves.png`` and ``loss_history.csv``, ``run/eval/tensorboard/``;
- ``run/models/checkpoint_iter*.pt`` (resumable) and ``run/models/model.pt``;
- ``encoder.pt``: the encoder in the format the downstream bundles load.
"""

from __future__ import annotations

import csv
import logging
import math
import shlex
import shutil
import time
from pathlib import Path
from typing import Any

__all__ = ["DEMO_NETWORK", "demo", "demo_overrides", "default_bundle_dir"]

logger = logging.getLogger(__name__)

# A tiny PRISM (about 1.5 M parameters): Swin width 12, one block per stage, narrow heads and decoders.
DEMO_NETWORK: dict[str, Any] = {
    "network_def#feature_size": 12,
    "network_def#depths": [1, 1, 1, 1],
    "network_def#num_heads": [1, 1, 1, 1],
    "network_def#decoder_channels": [32, 16, 16, 8, 8],
    "network_def#z_dim": 8,
    "network_def#p_dim": 16,
    "network_def#style_dim": 16,
    "network_def#mapping_layers": 2,
    "network_def#head_hidden": 32,
    "network_def#proj_dim": 16,
}
_MARKER = ".prism_demo"


def default_bundle_dir() -> Path:
    """``bundles/prism_pretrain`` of the repository this package is installed from (editable install)."""
    import prism

    return Path(prism.__file__).resolve().parents[2] / "bundles" / "prism_pretrain"


def demo_overrides(
    run_dir: Path, datalist: Path, epochs: int, roi: int, spacing: float, batch_size: int, objectives: str, seed: int
) -> dict[str, Any]:
    """The config overrides of the demo run (network size, data, schedule), as ``monai.bundle run`` ids."""
    return {
        "bundle_root": str(run_dir),
        "dataset_dir": str(datalist.parent),
        "datalist": str(datalist),
        **DEMO_NETWORK,
        "objectives": objectives,
        "seed": seed,
        "roi_size": [roi, roi, roi],
        "pixdim": [spacing, spacing, spacing],
        "mask_block_size": max(4, roi // 4),
        "batch_size": batch_size,
        "num_workers": 0,
        "cache_rate": 1.0,
        "num_epochs": epochs,
        "learning_rate": 1e-3,
        "disc_learning_rate": 1e-3,
        "warmup_fraction": 0.1,
        "log_interval": 5,
    }


def _epoch_means(csv_path: Path, key: str) -> list[float]:
    rows = list(csv.DictReader(open(csv_path)))
    by_epoch: dict[float, list[float]] = {}
    for row in rows:
        value = float(row[key])
        if math.isfinite(value):
            by_epoch.setdefault(float(row["epoch"]), []).append(value)
    return [sum(v) / len(v) for _, v in sorted(by_epoch.items())]


def demo(
    out: str = "demo_output",
    subjects: int = 4,
    epochs: int = 10,
    seed: int = 0,
    size: int = 64,
    spacing: float = 3.0,
    roi: int = 32,
    batch_size: int = 4,
    objectives: str = "full",
    bundle_dir: str | None = None,
    fresh: bool = True,
) -> str:
    """Simulate a small corpus, pretrain a tiny PRISM with the prism_pretrain bundle, export its encoder.

    Args:
        out: output folder.
        subjects: simulated subjects (10 sequences each).
        epochs: training epochs.
        seed: seed of the simulation and of the run.
        size: simulated grid edge in voxels.
        spacing: simulated voxel size in mm (also the training resampling).
        roi: training crop edge (multiple of 32).
        batch_size: batch size.
        objectives: ablation name (mir, mir_meta, mir_meta_tran, full).
        bundle_dir: the prism_pretrain bundle (default: the repository's ``bundles/prism_pretrain``).
        fresh: start a new run (removes ``out/run`` when it is a previous demo run); False resumes it.

    Returns:
        path of the loss-curve PNG.

    Raises:
        ValueError: on a missing bundle, ``roi`` not a multiple of 32, or ``out/run`` not made by the demo.
    """
    from monai.bundle import ConfigWorkflow

    from prism.data.corpus import corpus_command
    from prism.data.simulator import simulate_corpus
    from prism.engines.export import export_encoder

    start = time.perf_counter()
    if roi % 32:
        raise ValueError(f"prism demo: --roi must be a multiple of 32, got {roi}.")
    bundle = Path(bundle_dir) if bundle_dir is not None else default_bundle_dir()
    if not (bundle / "configs" / "train.yaml").is_file():
        raise ValueError(f"prism demo: no bundle at {bundle} (configs/train.yaml missing); pass --bundle_dir.")
    out_dir = Path(out).resolve()
    # the datalist sits in its own folder: next to the corpus, record values such as dataset="corpus" would name
    # existing paths (harmless for prism.data.datalist.load_datalist, which the bundle uses, but warned about)
    corpus, datalist, run_dir = out_dir / "corpus", out_dir / "datalist" / "datalist.json", out_dir / "run"
    if run_dir.exists() and fresh:
        if not (run_dir / _MARKER).exists():
            raise ValueError(f"prism demo: {run_dir} exists and was not made by prism demo; choose another --out.")
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / _MARKER).write_text("made by prism demo\n")

    if not datalist.is_file():
        print(f"[1/4] simulating {subjects} subjects x 10 sequences at {size}^3, {spacing} mm -> {corpus}")
        simulate_corpus(corpus, subjects=subjects, seed=seed, shape=size, spacing=spacing)
        print("[2/4] building the datalist (prism corpus)")
        corpus_command(str(corpus), out=str(datalist), val_fraction=0.25, seed=seed)
    else:
        print(f"[1-2/4] reusing {datalist}")

    overrides = demo_overrides(run_dir, datalist, epochs, roi, spacing, batch_size, objectives, seed)
    cli = " ".join(f"--{k} {shlex.quote(str(v).replace(' ', ''))}" for k, v in overrides.items())
    print(f"[3/4] pretraining: python -m monai.bundle run --config_file {bundle}/configs/train.yaml {cli}")
    workflow = ConfigWorkflow(
        config_file=str(bundle / "configs" / "train.yaml"),
        meta_file=str(bundle / "configs" / "metadata.json"),
        logging_file=str(bundle / "configs" / "logging.conf"),
        workflow_type="train",
        **overrides,
    )
    workflow.initialize()
    workflow.run()
    workflow.finalize()

    print("[4/4] exporting the encoder (prism export-encoder)")
    encoder = export_encoder(
        bundle, out_dir / "encoder.pt", checkpoint=run_dir / "models" / "model.pt",
        overrides={**DEMO_NETWORK},
    )
    curves = run_dir / "eval" / "loss_curves.png"
    history = run_dir / "eval" / "loss_history.csv"
    for key in ("reconstruction", "acquisition", "region", "contrastive"):
        try:
            means = _epoch_means(history, key)
        except KeyError:
            continue
        print(f"  {key:<15} epoch mean {means[0]:.4f} (first) -> {means[-1]:.4f} (last)")
    print(f"loss curves: {curves}")
    print(f"checkpoint:  {run_dir / 'models'}")
    print(f"encoder:     {encoder}")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return str(curves)
