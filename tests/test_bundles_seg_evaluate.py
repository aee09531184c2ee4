"""Evaluation of a segmentation bundle on a case whose reference lacks a class (BraTS without ET).

MONAI's Dice defaults to ``ignore_empty=True`` and writes NaN for such a class, which ``prism compare`` refuses.
The bundles use ``ignore_empty=False``: empty reference and empty prediction score 1, as
``prism.evaluation.dice_per_case`` defines. A network with all-zero weights predicts background everywhere, so
every class present in the reference scores exactly 0 and every absent one exactly 1.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser, ConfigWorkflow

from prism.evaluation import dice_per_case
from prism.evaluation.results import metric_values, read_results
from prism.tasks import get_task
from prism.data.synthetic import make_task_dataset, simulate_base_corpus

REPO = Path(__file__).resolve().parents[1]
TINY = {"feature_size": 12, "roi_size": [64, 32, 32], "pixdim": [6.25, 6.25, 6.25], "sw_batch_size": 1,
        "sw_overlap": 0.0, "num_workers": 0, "cache_rate": 0.0, "pretrained_source": "scratch"}  # fmt: skip


@pytest.fixture(scope="module")
def brats(tmp_path_factory):
    """A BraTS-like dataset whose one validation case has no ET (label 4 turned into NCR, 1)."""
    task = get_task("brats2021_tumour_seg")
    corpus = simulate_base_corpus(tmp_path_factory.mktemp("corpus"), subjects=3, shape=40, spacing=5.0)
    data = tmp_path_factory.mktemp("brats")
    datalist = json.loads(make_task_dataset(task, corpus, data).read_text())
    (entry,) = datalist["validation"]
    label_file = data / entry["label"]
    image = nib.load(label_file)
    label = np.asanyarray(image.dataobj).copy()
    label[label == 4] = 1
    nib.save(nib.Nifti1Image(label, image.affine), label_file)
    return task, data, label


def _zero_weights(bundle: Path) -> None:
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "train.yaml"))
    parser.update({"feature_size": TINY["feature_size"]})
    network = parser.get_parsed_content("network_def")
    with torch.no_grad():
        for p in network.parameters():
            p.zero_()
    (bundle / "models").mkdir(exist_ok=True)
    torch.save(network.state_dict(), bundle / "models" / "model.pt")


def _rows(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_evaluate_scores_an_absent_class_without_nan(brats, tmp_path):
    task, data, label = brats
    bundle = Path(shutil.copytree(REPO / "bundles" / task.bundle_name, tmp_path / task.bundle_name))
    _zero_weights(bundle)
    workflow = ConfigWorkflow(
        config_file=[str(bundle / "configs" / c) for c in ("train.yaml", "evaluate.yaml")],
        meta_file=str(bundle / "configs" / "metadata.json"),
        logging_file=str(bundle / "configs" / "logging.conf"),
        workflow_type="train",
        bundle_root=str(bundle),
        dataset_dir=str(data),
        **TINY,
    )
    workflow.initialize()
    workflow.run()
    workflow.finalize()

    present = [bool((label == c.value).any()) for c in task.labels]
    assert present[task.class_index("ET") - 1] is False and any(present)  # the case this test is about
    expected = [0.0 if p else 1.0 for p in present]
    # prism.evaluation's definition agrees: an all-background prediction against the mapped reference.
    indices = np.vectorize(task.raw_to_index().get)(label)[None]
    np.testing.assert_allclose(dice_per_case(np.zeros_like(indices), indices, task.num_classes)[0], expected)

    csv_path = bundle / "eval" / "val_mean_dice_raw.csv"
    rows = _rows(csv_path)
    values = np.array(rows[1][1:], dtype=float)
    assert np.isfinite(values).all(), rows
    np.testing.assert_allclose(values, [*expected, np.mean(expected)], atol=1e-6)
    # Regions TC (NCR+ET), WT (all), ET: only ET is absent.
    regions = np.array(_rows(bundle / "eval" / "val_region_dice_raw.csv")[1][1:], dtype=float)
    np.testing.assert_allclose(regions, [0.0, 0.0, 1.0, 1.0 / 3.0], atol=1e-6)

    # prism compare's reader takes the file as it is.
    results = read_results(csv_path)
    assert len(results.case_ids) == 1
    np.testing.assert_allclose(metric_values(results, "dice").values, [np.mean(expected)], atol=1e-6)
