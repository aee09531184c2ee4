"""Prepare and verify the MONAI Label serving check (``tools/monailabel/check.sh``); runs in the main environment.

    python tools/monailabel/check.py prepare --workdir /tmp/ml_check --bundle prism_amos_abdomen_seg
    python tools/monailabel/check.py verify --image STUDY.nii.gz --label ANSWER.nii.gz --bundle_dir ... --info info.json

``prepare`` copies the bundle (configs, metadata, licence; never the repository's weights), saves untrained
weights of its network built with the check's overrides (the serving path is under test, not the model), and
writes one study volume with an oblique, anisotropic, non-RAS affine so that a geometry mistake shows.
``verify`` checks the answer: same shape and affine as the study, values among the bundle's label values.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import nibabel as nib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lib.bundles import read_bundle, save_untrained_weights  # noqa: E402

__all__ = ["TINY_OVERRIDES", "make_study", "prepare", "verify"]

REPO = Path(__file__).resolve().parents[2]
# The check's network: SwinUNETR at feature size 12 and coarse voxels, so a CPU answers in seconds.
TINY_OVERRIDES = {"feature_size": 12, "roi_size": [64, 64, 64], "pixdim": [3.0, 3.0, 3.0], "sw_batch_size": 1,
                  "sw_overlap": 0.0}  # fmt: skip


def make_study(out_file: Path, shape: tuple[int, int, int] = (72, 60, 40), seed: int = 0) -> Path:
    """A smooth blob phantom with a rotated, anisotropic (1.2 x 1.5 x 3 mm), LPS-like affine."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing="ij"))
    volume = np.zeros(shape, np.float32)
    for _ in range(6):
        centre = rng.uniform(-0.6, 0.6, 3)[:, None, None, None]
        radius = rng.uniform(0.15, 0.4)
        volume += rng.uniform(100, 600) * np.exp(-((grid - centre) ** 2).sum(0) / (2 * radius**2))
    angle = np.deg2rad(10.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-1.2, -1.5, 3.0])
    affine[:3, 3] = [40.0, 30.0, -60.0]
    out_file.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(volume, affine), out_file)
    return out_file


def prepare(workdir: Path, bundle: str, overrides: dict) -> None:
    src = REPO / "bundles" / bundle
    if not src.is_dir():
        raise ValueError(f"--bundle: {src} is not a bundle folder")
    dst = workdir / "bundles" / bundle
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.pt", "eval", "runs"))
    save_untrained_weights(dst, dst / "models" / "model.pt", overrides)
    make_study(workdir / "studies" / "case001.nii.gz")
    served = read_bundle(dst, overrides)
    if not served.servable:
        raise ValueError(f"{dst}: not servable: {served.problems}")
    print(f"prepared {dst} (weights {served.checkpoint}) and {workdir / 'studies' / 'case001.nii.gz'}")


def verify(image: Path, label: Path, bundle_dir: Path, info: Path | None, model: str) -> None:
    """Raise ValueError naming what differs between the study and the answer."""
    img, lab = nib.load(image), nib.load(label)
    problems = []
    if lab.shape[:3] != img.shape[:3] or len(lab.shape) != 3:
        problems.append(f"label shape {lab.shape} != image shape {img.shape}")
    if not np.allclose(lab.affine, img.affine, atol=1e-3):
        problems.append(f"label affine\n{lab.affine}\n!= image affine\n{img.affine}")
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
    p.add_argument("--bundle", default="prism_amos_abdomen_seg")
    p.add_argument("--overrides", default=json.dumps(TINY_OVERRIDES), help="JSON: the app's bundle_overrides")
    v = sub.add_parser("verify")
    v.add_argument("--image", type=Path, required=True)
    v.add_argument("--label", type=Path, required=True)
    v.add_argument("--bundle_dir", type=Path, required=True)
    v.add_argument("--info", type=Path, default=None, help="the server's /info/ answer (JSON)")
    v.add_argument("--model", default=None)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.workdir, args.bundle, json.loads(args.overrides))
    else:
        verify(args.image, args.label, args.bundle_dir, args.info, args.model or args.bundle_dir.name)


if __name__ == "__main__":
    main()
