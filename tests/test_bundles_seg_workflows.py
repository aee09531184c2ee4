"""Tiny train -> evaluate -> infer runs of the segmentation bundles on simulated data, all in one process.

Sizes are shrunk only through the bundles' own override ids (as a user would on the command line):
feature size 12, 64x32x32 crops (SwinUNETR needs multiples of 32 and a bottleneck of more than one voxel),
6.25 mm voxels (a 32^3 grid for the simulated head), one epoch. Representative bundles run by default
(single-channel organ, multi-sequence lesion, external); the others are marked slow.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from monai.bundle import ConfigParser, ConfigWorkflow

from prism.tasks import get_task, list_tasks
from prism.data.synthetic import make_task_dataset, simulate_base_corpus

REPO = Path(__file__).resolve().parents[1]
TINY = {"feature_size": 12, "roi_size": [64, 32, 32], "pixdim": [6.25, 6.25, 6.25], "sw_batch_size": 1,
        "sw_overlap": 0.0}  # fmt: skip
TRAIN = {**TINY, "max_epochs": 1, "num_workers": 0, "cache_rate": 0.0, "batch_size": 1, "num_samples": 1,
         "pretrained_source": "scratch"}  # fmt: skip
INFER = {**TINY, "dataloader#num_workers": 0}
DEFAULT = ("amos_abdomen_seg", "brats2021_tumour_seg", "chaos_abdomen_seg")
NAMES = [t.name for t in list_tasks(segmentation=True)]
_TRAINED: dict[str, Path] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return simulate_base_corpus(tmp_path_factory.mktemp("corpus"), subjects=3, shape=40, spacing=5.0)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    _TRAINED.clear()
    return tmp_path_factory.mktemp("bundles")


def _run(bundle: Path, configs: list[str], workflow_type: str, **override) -> ConfigWorkflow:
    workflow = ConfigWorkflow(
        config_file=[str(bundle / "configs" / c) for c in configs],
        meta_file=str(bundle / "configs" / "metadata.json"),
        logging_file=str(bundle / "configs" / "logging.conf"),
        workflow_type=workflow_type,
        bundle_root=str(bundle),
        **override,
    )
    workflow.initialize()
    assert workflow.check_properties() == []
    workflow.run()
    workflow.finalize()
    return workflow


def _trained_bundle(name: str, corpus: list[dict], workspace: Path) -> Path:
    """Copy a bundle into the workspace and train it for one epoch (once per module), with MLflow tracking."""
    if name not in _TRAINED:
        task = get_task(name)
        bundle = Path(shutil.copytree(REPO / "bundles" / task.bundle_name, workspace / task.bundle_name))
        data = workspace / f"data_{name}"
        make_task_dataset(task, corpus, data)
        _run(bundle, ["train.yaml"], "train", dataset_dir=str(data), tracking="mlflow", **TRAIN)
        assert (bundle / "models" / "model.pt").is_file() and (bundle / "eval" / "mlruns.db").is_file()
        _TRAINED[name] = bundle
    return _TRAINED[name]


def _read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n in DEFAULT else [pytest.mark.slow]) for n in NAMES])
def test_train_evaluate_infer(name, corpus, workspace):
    task = get_task(name)
    if task.is_external:
        _trained_bundle(task.source_task, corpus, workspace)  # "../<source bundle>" is the default source
        bundle = Path(shutil.copytree(REPO / "bundles" / task.bundle_name, workspace / task.bundle_name))
        data = workspace / f"data_{name}"
        make_task_dataset(task, corpus, data, splits=("test",))
        _run(bundle, ["evaluate.yaml"], "infer", dataset_dir=str(data), **INFER)
        split = "test"
    else:
        bundle = _trained_bundle(name, corpus, workspace)
        data = workspace / f"data_{name}"
        _run(bundle, ["train.yaml", "evaluate.yaml"], "train", dataset_dir=str(data), **TRAIN)
        split = "validation"
    datalist = json.loads((data / "datalist.json").read_text())

    # Per-case Dice, one column per class and the mean, one row per evaluated case.
    rows = _read_csv(bundle / "eval" / "val_mean_dice_raw.csv")
    assert rows[0] == ["filename", *[f"class{i}" for i in range(len(task.labels))], "mean"]
    assert [Path(r[0]).parent.name for r in rows[1:]] == [e["case"] for e in datalist[split]]
    dice = np.array([r[1:] for r in rows[1:]], dtype=float)
    assert np.isfinite(dice).all() and np.all((dice >= 0) & (dice <= 1))  # ignore_empty=False: never NaN
    if task.regions:
        assert _read_csv(bundle / "eval" / "val_region_dice_raw.csv")[0] == ["filename", "class0", "class1",
                                                                             "class2", "mean"]  # fmt: skip

    # Inference: a label map per case in the input's geometry, holding only the dataset's label values.
    _run(bundle, ["inference.json"], "infer", dataset_dir=str(data), **INFER)
    allowed = {0, *(c.value for c in task.labels)}
    for entry in datalist["test"]:
        first = data / entry[task.input_keys[0]]
        pred = nib.load(bundle / "eval" / first.name.replace(".nii.gz", "_seg.nii.gz"))
        ref = nib.load(first)
        assert pred.shape == ref.shape and np.allclose(pred.affine, ref.affine, atol=1e-4)
        assert set(np.unique(np.asanyarray(pred.dataobj)).tolist()) <= allowed


def test_inference_returns_labels_in_the_geometry_of_a_non_ras_anisotropic_input(corpus, workspace, tmp_path):
    bundle = _trained_bundle("amos_abdomen_seg", corpus, workspace)
    volume = np.asanyarray(nib.load(corpus[2]["images"]["t1w_se"]).dataobj)
    data = np.ascontiguousarray(np.transpose(volume, (1, 2, 0))[::-1, :36, ::-1])
    # Axes permuted and flipped (orientation PSL, not RAS), voxels 5.5 x 7.0 x 4.0 mm.
    affine = np.array([[0.0, 0.0, -4.0, 80.0], [-5.5, 0.0, 0.0, 110.0], [0.0, 7.0, 0.0, -70.0], [0, 0, 0, 1]])
    assert nib.aff2axcodes(affine) != ("R", "A", "S")
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "odd.nii.gz")
    (tmp_path / "datalist.json").write_text(json.dumps({"test": [{"image": "odd.nii.gz"}]}))
    _run(bundle, ["inference.json"], "infer", dataset_dir=str(tmp_path), output_dir=str(tmp_path / "out"), **INFER)
    pred = nib.load(tmp_path / "out" / "odd_seg.nii.gz")
    assert pred.shape == data.shape
    np.testing.assert_allclose(pred.affine, affine, atol=1e-4)


def test_training_stops_early_when_validation_dice_stops_improving(corpus, workspace, tmp_path):
    trained = _trained_bundle("amos_abdomen_seg", corpus, workspace)
    bundle = Path(shutil.copytree(REPO / "bundles" / "prism_amos_abdomen_seg", tmp_path / "bundle"))
    # With a zero learning rate the weights, hence the validation Dice, never change: the first validation
    # sets the best score, the second does not beat it, and patience 1 ends training after epoch 2 of 5.
    override = {**TRAIN, "max_epochs": 5, "learning_rate": 0.0, "early_stop_patience": 1}
    workflow = _run(bundle, ["train.yaml"], "train", dataset_dir=str(workspace / "data_amos_abdomen_seg"), **override)
    assert workflow.trainer.state.epoch == 2 and workflow.trainer.state.max_epochs == 5
    assert (bundle / "models" / "model.pt").is_file() and trained.is_dir()


def test_monai_bundle_load_builds_the_trained_network(corpus, workspace):
    import monai.bundle
    import torch

    bundle = _trained_bundle("amos_abdomen_seg", corpus, workspace)
    net = monai.bundle.load(bundle.name, bundle_dir=str(workspace), workflow_type="inference", device="cpu",
                            net_override={"feature_size": 12})  # fmt: skip
    assert isinstance(net, torch.nn.Module)
    saved = torch.load(bundle / "models" / "model.pt", map_location="cpu", weights_only=True)
    assert all(torch.equal(v, saved[k]) for k, v in net.state_dict().items())


def _write_dicom_series(folder: Path, slices: int = 8, spacing: float = 4.0) -> None:
    """An axial MR series from pydicom's MR_small.dcm (64x64, 0.3125 mm pixels), one file per slice."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    template = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    series_uid = generate_uid()
    folder.mkdir(parents=True)
    for k in range(slices):
        ds = template.copy()
        ds.PixelData = (template.pixel_array.astype(np.int16) // 2 + 10 * k).astype(np.int16).tobytes()
        ds.ImagePositionPatient = [-10.0, -10.0, spacing * k]
        ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        ds.PixelSpacing = [2.5, 2.5]
        ds.SliceThickness = spacing
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = k + 1
        ds.save_as(folder / f"slice{k:03d}.dcm")


def test_inference_reads_a_dicom_series(corpus, workspace, tmp_path):
    from monai.transforms import LoadImage

    bundle = _trained_bundle("amos_abdomen_seg", corpus, workspace)
    _write_dicom_series(tmp_path / "series")
    (tmp_path / "datalist.json").write_text(json.dumps({"test": [{"image": "series"}]}))
    _run(bundle, ["inference.json"], "infer", dataset_dir=str(tmp_path), output_dir=str(tmp_path / "out"), **INFER)
    outputs = list((tmp_path / "out").glob("*_seg.nii.gz"))
    assert len(outputs) == 1
    reference = LoadImage(image_only=True)(str(tmp_path / "series"))
    pred = nib.load(outputs[0])
    assert pred.shape == tuple(reference.shape) == (64, 64, 8)
    np.testing.assert_allclose(pred.affine, np.asarray(reference.affine), atol=1e-4)
    np.testing.assert_allclose(nib.affines.voxel_sizes(pred.affine), [2.5, 2.5, 4.0], atol=1e-4)


def _causes(exc: BaseException) -> str:
    text = []
    while exc is not None:
        text.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(text)


def test_missing_sequence_names_the_sequence_and_the_case(corpus, tmp_path):
    task = get_task("brats2021_tumour_seg")
    data = tmp_path / "brats"
    entry = json.loads(make_task_dataset(task, corpus, data).read_text())["test"][0]
    parser = ConfigParser()
    parser.read_config(str(REPO / "bundles" / task.bundle_name / "configs" / "inference.json"))
    preprocessing = parser.get_parsed_content("preprocessing")
    case = {k: str(data / v) if k != "case" else v for k, v in entry.items() if k != "flair"}
    with pytest.raises(RuntimeError) as error:
        preprocessing(case)
    assert f"case '{entry['case']}': sequence 'flair' is missing" in _causes(error.value)
    case["flair"] = str(data / "nowhere_flair.nii.gz")
    with pytest.raises(RuntimeError) as error:
        preprocessing(case)
    assert "the file for 'flair' does not exist" in _causes(error.value)
    out = preprocessing({k: str(data / v) if k != "case" else v for k, v in entry.items()})
    assert out["image"].shape[0] == 4 and "flair" not in out


@pytest.mark.slow
def test_two_process_gloo_training(corpus, tmp_path):
    task = get_task("msd_hippocampus_seg")
    bundle = Path(shutil.copytree(REPO / "bundles" / task.bundle_name, tmp_path / task.bundle_name))
    data = tmp_path / "data"
    make_task_dataset(task, corpus, data, n_train=1)  # two validation cases: one per process
    args = [f"--{k}={json.dumps(v) if isinstance(v, list) else v}" for k, v in TRAIN.items()]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "monai.bundle",
           "run", "--config_file", "['configs/train.yaml','configs/multi_gpu_train.yaml']", "--bundle_root",
           str(bundle), "--dataset_dir", str(data), *args]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=bundle, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (bundle / "models" / "model.pt").is_file()
