"""Simulated task datasets: the task's channels, label-file values and datalist layout."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from prism.tasks import get_task
from prism.data.synthetic import make_task_dataset, simulate_base_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return simulate_base_corpus(tmp_path_factory.mktemp("corpus"), subjects=2, shape=24, spacing=8.0)


@pytest.mark.parametrize("name", ["brats2021_tumour_seg", "spider_spine_seg", "atlas_tumour_seg", "chaos_abdomen_seg"])
def test_dataset_has_the_tasks_keys_and_label_values(corpus, tmp_path, name):
    task = get_task(name)
    datalist = json.loads(make_task_dataset(task, corpus, tmp_path, n_train=1).read_text())
    assert [len(datalist[s]) for s in ("training", "validation", "test")] == [1, 1, 1]
    entry = datalist["training"][0]
    assert set(entry) == {"case", *task.input_keys, "label"}
    shapes = {nib.load(tmp_path / entry[k]).shape for k in task.input_keys}
    assert shapes == {(24, 24, 24)}
    values = set(np.unique(np.asanyarray(nib.load(tmp_path / entry["label"]).dataobj)).tolist())
    assert values <= set(task.raw_to_index()) and len(values) >= 2
    if task.family == "lesion_seg":  # the simulated lesion is the first lesion class
        assert task.labels[0].value in values


def test_rejects_bad_arguments(corpus, tmp_path):
    with pytest.raises(ValueError, match="segmentation"):
        make_task_dataset(get_task("adni_ad_grade"), corpus, tmp_path)
    with pytest.raises(ValueError, match="n_train"):
        make_task_dataset(get_task("acdc_heart_seg"), corpus, tmp_path, n_train=2)
