"""Prepare and verify the MONAI Label serving check (``tools/monailabel_app/check.sh``); runs in the main environment.

    python tools/monailabel_app/check.py prepare --workdir /tmp/ml_check --bundles prism_amos_abdomen_seg,...
    python tools/monailabel_app/check.py verify --image STUDY.nii.gz --label ANSWER.nii.gz --bundle_dir ... --info info.json

``prepare`` copies the bundles (configs, metadata, licence; never the repository's weights; an external
bundle's source bundle too), saves untrained weights of each network built with the check's overrides (the
serving path is under test, not the model), and writes one study per input channel count (4D for
multi-sequence bundles) with an oblique, anisotropic, non-RAS affine so that a geometry mistake shows.
``verify`` checks the answer: same shape and affine as the study, an integer type, values among the bundle's
label values (and the server's ``/info/`` naming the same labels).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lib.bundles import (  # noqa: E402
    INFERENCE_CONFIGS,
    bundle_parser,
    checkpoint_target,
    read_bundle,
    save_untrained_weights,
)

__all__ = ["TINY_OVERRIDES", "add_training_studies", "make_study", "prepare", "verify"]

REPO = Path(__file__).resolve().parents[2]
# The check's network: SwinUNETR at feature size 12 and coarse voxels, so a CPU answers in seconds.
TINY_OVERRIDES = {"feature_size": 12, "roi_size": [64, 64, 64], "pixdim": [3.0, 3.0, 3.0], "sw_batch_size": 1,
                  "sw_overlap": 0.0}  # fmt: skip


def make_study(out_file: Path, shape: tuple[int, int, int] = (72, 60, 40), channels: int = 1, seed: int = 0) -> Path:
    """A smooth blob phantom with a rotated, anisotropic (1.2 x 1.5 x 3 mm), LPS-like affine.

    With ``channels`` > 1 the file is 4D (channels last on disk), one differently weighted copy per sequence.
    """
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij"))
    volume = np.zeros(shape, np.float32)
    for _ in range(6):
        centre = rng.uniform(-0.6, 0.6, 3)[:, None, None, None]
        radius = rng.uniform(0.15, 0.4)
        volume += rng.uniform(100, 600) * np.exp(-((grid - centre) ** 2).sum(0) / (2 * radius**2))
    if channels > 1:
        volume = np.stack([volume ** (1.0 + 0.1 * c) for c in range(channels)], axis=-1).astype(np.float32)
    angle = np.deg2rad(10.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-1.2, -1.5, 3.0])
    affine[:3, 3] = [40.0, 30.0, -60.0]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(volume, affine), out_file)
    return out_file


def _copy_bundle(name: str, root: Path) -> Path:
    src = REPO / "bundles" / name
    if not src.is_dir():
        raise ValueError(f"--bundles: {src} is not a bundle folder")
    dst = root / name
    shutil.rmtree(dst, ignore_errors=True)
    return Path(shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.pt", "eval", "runs")))


def add_training_studies(studies: Path, labels: Mapping[str, int], count: int = 2) -> list[Path]:
    """Single-channel studies with label maps in MONAI Label's local datastore layout (``labels/final``).

    The label map marks the brightest fifth with the first of ``labels``' values and the next fifth with the
    last one: the dataset's values, as a user labelling in 3D Slicer against the server's label names would.
    """
    values = list(labels.values())
    (studies / "labels" / "final").mkdir(parents=True, exist_ok=True)
    written = []
    for i in range(count):
        image = make_study(studies / f"train{i:02d}.nii.gz", shape=(48, 40, 32), seed=i + 1)
        data = np.asarray(nib.load(image).dataobj)
        hi, mid = np.percentile(data, 80), np.percentile(data, 60)
        label = np.where(data > hi, values[0], np.where(data > mid, values[-1], 0)).astype(np.int16)
        nib.save(nib.Nifti1Image(label, nib.load(image).affine), studies / "labels" / "final" / image.name)
        written.append(image)
    return written


def prepare(workdir: Path, names: list[str], overrides: dict, train: str | None = None) -> list[tuple[str, str]]:
    """Copy the bundles (and the source bundle of an external one), write weights and one study per channel count;
    with ``train`` (one of ``names``), also labelled studies for MONAI Label to train it on.

    Returns:
        (bundle name, study id) pairs, also written to ``workdir/requests.txt`` for check.sh.
    """
    root = workdir / "bundles"
    requests = []
    for name in names:
        dst = _copy_bundle(name, root)
        config = next(dst / "configs" / c for c in INFERENCE_CONFIGS if (dst / "configs" / c).is_file())
        parser = bundle_parser(config, dst, overrides)
        source = parser.get("source_bundle")  # an external bundle names its source (found next to it)
        if isinstance(source, dict) and source.get("name") and not (root / source["name"]).is_dir():
            _copy_bundle(source["name"], root)
        ckpt = checkpoint_target(parser, dst)
        weights_bundle = ckpt.parent.parent  # the bundle whose network the weights belong to
        if not weights_bundle.is_dir():
            _copy_bundle(weights_bundle.name, root)
        if not ckpt.is_file():
            save_untrained_weights(weights_bundle, ckpt, overrides)
        served = read_bundle(dst, overrides)
        if not served.servable:
            raise ValueError(f"{dst}: not servable: {served.problems}")
        channels = len(served.input_channels) or 1
        study = f"case_{channels}ch"
        if not (workdir / "studies" / f"{study}.nii.gz").is_file():
            make_study(workdir / "studies" / f"{study}.nii.gz", channels=channels)
        requests.append((name, study))
        print(f"prepared {name}: weights {served.checkpoint}, labels {served.labels}, study {study}")
    (workdir / "requests.txt").write_text("".join(f"{n} {s}\n" for n, s in requests))
    if train:
        if train not in names:
            raise ValueError(f"--train_bundle: {train!r} is not among --bundles {names}")
        bundle = read_bundle(root / train, overrides)
        if bundle.train_config is None:
            raise ValueError(f"--train_bundle: MONAI Label cannot train {train} (multi-sequence or external)")
        add_training_studies(workdir / "studies", bundle.labels)
    return requests


def verify(image: Path, label: Path, bundle_dir: Path, info: Path | None, model: str) -> None:
    """Raise ValueError naming what differs between the study and the answer."""
    img, lab = nib.load(image), nib.load(label)
    problems = []
    if lab.shape[:3] != img.shape[:3] or len(lab.shape) != 3:
        problems.append(f"label shape {lab.shape} != image shape {img.shape}")
    if not np.allclose(lab.affine, img.affine, atol=1e-3):
        problems.append(f"label affine\n{lab.affine}\n!= image affine\n{img.affine}")
    if not np.issubdtype(lab.get_data_dtype(), np.integer):
        problems.append(f"label dtype {lab.get_data_dtype()} is not an integer type")
    labels = read_bundle(bundle_dir).labels
    values = set(np.unique(np.asarray(lab.dataobj)).astype(int).tolist())
    if not values <= {0, *labels.values()}:
        problems.append(f"label values {sorted(values)} not within 0 and the bundle's {sorted(labels.values())}")
    if info is not None:
        served = json.loads(info.read_text())["models"]
        if model not in served:
            problems.append(f"/info/ does not list {model}: {sorted(served)}")
        elif served[model]["labels"] != labels:
            problems.append(f"/info/ labels {served[model]['labels']} != bundle labels {labels}")
    if problems:
        raise ValueError(f"{label}: " + "; ".join(problems))
    print(f"OK: {label.name} shape {lab.shape}, affine matches the study, values {sorted(values)} "
          f"within {sorted(labels.values())}")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--bundles", default="prism_amos_abdomen_seg", help="comma-separated bundle names")
    p.add_argument("--overrides", default=json.dumps(TINY_OVERRIDES), help="JSON: the app's bundle_overrides")
    p.add_argument("--train_bundle", default=None, help="also write labelled studies to train this bundle on")
    v = sub.add_parser("verify")
    v.add_argument("--image", type=Path, required=True)
    v.add_argument("--label", type=Path, required=True)
    v.add_argument("--bundle_dir", type=Path, required=True)
    v.add_argument("--info", type=Path, default=None, help="the server's /info/ answer (JSON)")
    v.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        names = [b.strip() for b in args.bundles.split(",") if b.strip()]
        prepare(args.workdir, names, json.loads(args.overrides), args.train_bundle)
    else:
        verify(args.image, args.label, args.bundle_dir, args.info, args.model or args.bundle_dir.name)


if __name__ == "__main__":
    main()
