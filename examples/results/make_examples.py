"""Write the example per-case result files of ``examples/results/`` from seeded random data.

The numbers are synthetic (no real model was run): each model has a made-up "skill", so the comparison table
shows differences and significance stars like the paper's. Re-running this script rewrites the same files.

    python examples/results/make_examples.py            # writes next to this script
    prism compare --manifest examples/results/manifest.csv --baseline swin_b_scratch --out_dir comparison

Files (per model ``<m>`` in ``resnet3d_scratch``, ``swin_b_scratch``, ``mae3d``, ``prism``):

- ``picai_<m>.csv``: binary grading, ``case_id,target,pred,prob_0,prob_1`` (accuracy, AUC, ROC curves);
- ``ppmi_<m>.csv``: 3-class grading, ``case_id,target,pred,prob_0,prob_1,prob_2``;
- ``openbhb_<m>.csv``: age regression, ``case_id,target,pred`` (MAE in years);
- ``brats_<m>/mean_dice_raw.csv``: segmentation, written by MONAI's own ``write_metrics_reports`` (what
  ``MetricsSaver`` writes): ``filename,class0,class1,class2,mean``;
- ``report_<m>.csv``: report generation, ``case_id,reference,prediction`` texts;
- ``features_<m>.npz``: ``features`` (N, 32) and ``labels`` (N,) for t-SNE (two models only).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from monai.handlers.utils import write_metrics_reports

HERE = Path(__file__).resolve().parent  # default output folder
MODELS = {"resnet3d_scratch": 0.75, "swin_b_scratch": 0.8, "mae3d": 0.9, "prism": 1.0}  # made-up skill

FINDINGS = [
    "no joint effusion",
    "small joint effusion",
    "intact anterior cruciate ligament",
    "partial tear of the anterior cruciate ligament",
    "degenerative signal in the medial meniscus",
    "horizontal tear of the posterior horn of the medial meniscus",
    "bone marrow edema in the lateral femoral condyle",
    "mild chondral thinning of the patella",
    "no fracture",
    "intact collateral ligaments",
]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _classification(out: Path, name: str, n_cases: int, n_classes: int, rng: np.random.Generator) -> None:
    target = rng.integers(0, n_classes, n_cases)
    shared = rng.normal(0.0, 1.0, (n_cases, n_classes))  # shared by all models: their errors are correlated
    for model, skill in MODELS.items():
        logits = shared + rng.normal(0.0, 0.5, (n_cases, n_classes))
        logits[np.arange(n_cases), target] += 1.6 * skill
        probs = _softmax(logits)
        rows = [
            [f"case_{i:03d}", int(target[i]), int(probs[i].argmax()), *(f"{p:.6f}" for p in probs[i])]
            for i in range(n_cases)
        ]
        _write_csv(
            out / f"{name}_{model}.csv", ["case_id", "target", "pred", *(f"prob_{k}" for k in range(n_classes))], rows
        )


def _regression(out: Path, n_cases: int, rng: np.random.Generator) -> None:
    age = rng.uniform(20.0, 85.0, n_cases)
    shared = rng.normal(0.0, 3.0, n_cases)
    for model, skill in MODELS.items():
        pred = age + shared + rng.normal(0.0, 2.0 / skill, n_cases)
        _write_csv(
            out / f"openbhb_{model}.csv",
            ["case_id", "target", "pred"],
            [[f"sub-{i:03d}", f"{age[i]:.2f}", f"{pred[i]:.2f}"] for i in range(n_cases)],
        )


def _segmentation(out: Path, n_cases: int, rng: np.random.Generator) -> None:
    base = rng.uniform(0.70, 0.90, (n_cases, 3))
    images = [f"/data/brats/BraTS-{i:05d}_t1c.nii.gz" for i in range(n_cases)]
    for model, skill in MODELS.items():
        dice = np.clip(base + 0.05 * skill + rng.normal(0.0, 0.02, (n_cases, 3)), 0.0, 1.0).astype(np.float32)
        write_metrics_reports(out / f"brats_{model}", images, None, {"mean_dice": dice}, None)


def _reports(out: Path, n_cases: int, rng: np.random.Generator) -> None:
    references = [". ".join(rng.choice(FINDINGS, 3, replace=False)) + "." for _ in range(n_cases)]
    for model, skill in MODELS.items():
        rows = []
        for i, reference in enumerate(references):
            kept = [s for s in reference.rstrip(".").split(". ") if rng.random() < 0.35 + 0.5 * skill]
            kept += list(rng.choice(FINDINGS, 1))
            rows.append([f"report_{i:03d}", reference, ". ".join(kept) + "."])
        _write_csv(out / f"report_{model}.csv", ["case_id", "reference", "prediction"], rows)


def _features(out: Path, n_cases: int, rng: np.random.Generator) -> None:
    labels = rng.integers(0, 4, n_cases)
    centres = rng.normal(0.0, 1.0, (4, 32))
    for model in ("swin_b_scratch", "prism"):
        spread = 1.8 / MODELS[model] ** 2
        features = centres[labels] * 1.5 + rng.normal(0.0, spread, (n_cases, 32))
        np.savez(out / f"features_{model}.npz", features=features.astype(np.float32), labels=labels)


def main(out_dir: str | Path = HERE) -> None:
    """Write every example file into ``out_dir`` with a fixed seed."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20250101)
    _classification(out, "picai", 160, 2, rng)
    _classification(out, "ppmi", 150, 3, rng)
    _regression(out, 120, rng)
    _segmentation(out, 60, rng)
    _reports(out, 40, rng)
    _features(out, 200, rng)


if __name__ == "__main__":
    main()
