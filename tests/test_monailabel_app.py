"""The MONAI Label app's bundle discovery and the serving check's verifier, in the main environment.

MONAI Label itself lives in its own environment (tools/monailabel_app/setup_env.sh); the part of the app that
reads bundles (tools/monailabel_app/lib/bundles.py) does not import it, so it is tested here. The test that
builds the app's inference task runs only where monailabel is installed.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "tools" / "monailabel_app"
TINY = {"feature_size": 12, "roi_size": [64, 64, 64], "pixdim": [3.0, 3.0, 3.0]}


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(APP))  # check.py and main.py import `lib.bundles` as the app folder sees it
bundles = _load("lib.bundles", APP / "lib" / "bundles.py")
check = _load("prism_monailabel_check", APP / "check.py")


def _copy(name: str, root: Path) -> Path:
    return Path(shutil.copytree(REPO / "bundles" / name, root / name, ignore=shutil.ignore_patterns("*.pt", "eval")))


def test_discovery_lists_segmentation_bundles_only(tmp_path):
    found = [b.name for b in bundles.discover_bundles(REPO / "bundles", "all")]
    assert "prism_amos_abdomen_seg" in found and "prism_brats2021_tumour_seg" in found
    assert "prism_pretrain" not in found and all(n.endswith("_seg") for n in found)
    picked = bundles.discover_bundles(REPO / "bundles", "amos_abdomen_seg,prism_mmwhs_heart_seg")
    assert [b.name for b in picked] == ["prism_amos_abdomen_seg", "prism_mmwhs_heart_seg"]
    with pytest.raises(ValueError, match="amos_abdomen_sge"):
        bundles.discover_bundles(REPO / "bundles", "amos_abdomen_sge")
    with pytest.raises(ValueError, match="not a folder"):
        bundles.discover_bundles(tmp_path / "none")


def test_parse_overrides():
    assert bundles.parse_overrides('{"feature_size": 12}') == {"feature_size": 12}
    assert bundles.parse_overrides("") == {}
    with pytest.raises(ValueError, match="bundle_overrides"):
        bundles.parse_overrides("feature_size=12")
    with pytest.raises(ValueError, match="JSON object"):
        bundles.parse_overrides("[12]")


def test_weights_make_a_bundle_servable_and_load_strictly(tmp_path):
    amos = _copy("prism_amos_abdomen_seg", tmp_path)
    before = bundles.read_bundle(amos, TINY)
    assert not before.servable and "model.pt" in before.problems[0] and before.checkpoint is None
    bundles.save_untrained_weights(amos, amos / "models" / "model.pt", TINY)
    after = bundles.read_bundle(amos, TINY)
    assert after.servable and after.checkpoint == amos / "models" / "model.pt"
    assert after.image_keys == ["image"] and after.input_channels == {"0": "MR"}
    assert after.labels["spleen"] == 1 and len(after.labels) == 13 and "background" not in after.labels
    # the network the app builds with the same overrides takes these weights strictly; the full-size one does not
    from monai.bundle import ConfigParser

    parser = ConfigParser()
    parser.read_config(str(after.config_file))
    state = torch.load(after.checkpoint, weights_only=True)
    parser["feature_size"] = 12
    parser.get_parsed_content("network_def").load_state_dict(state, strict=True)
    parser["feature_size"] = 24
    with pytest.raises(RuntimeError):
        parser.get_parsed_content("network_def", lazy=False).load_state_dict(state, strict=True)


def test_labels_are_the_values_the_bundle_writes(tmp_path):
    mmwhs = bundles.read_bundle(REPO / "bundles" / "prism_mmwhs_heart_seg")
    assert mmwhs.labels["lv_myocardium"] == 205 and mmwhs.labels["pulmonary_artery"] == 850
    assert set(mmwhs.labels.values()) == {205, 420, 500, 550, 600, 820, 850}


def test_multi_sequence_bundle_takes_one_image(tmp_path):
    brats = bundles.read_bundle(REPO / "bundles" / "prism_brats2021_tumour_seg")
    assert brats.image_keys == ["image"] and list(brats.input_channels.values()) == ["T1", "T1ce", "T2", "FLAIR"]
    assert brats.labels == {"ncr": 1, "ed": 2, "et": 4}
    channels = bundles.read_bundle(REPO / "bundles" / "prism_brats2021_tumour_seg", {"output_values": "channels"})
    assert channels.labels == {"ncr": 1, "ed": 2, "et": 3}


def test_training_only_for_bundles_that_load_image_and_label():
    names = "amos_abdomen_seg,brats2021_tumour_seg,chaos_abdomen_seg"
    found = {b.name: b for b in bundles.discover_bundles(REPO / "bundles", names)}
    assert found["prism_amos_abdomen_seg"].train_config.name == "train.yaml"
    assert found["prism_brats2021_tumour_seg"].train_config is None  # training datalist names each sequence
    assert found["prism_chaos_abdomen_seg"].train_config is None  # external: no training


def test_prepare_writes_source_weights_and_studies(tmp_path):
    with pytest.raises(ValueError, match="cannot train prism_chaos_abdomen_seg"):
        check.prepare(tmp_path / "x", ["prism_chaos_abdomen_seg"], TINY, train="prism_chaos_abdomen_seg")
    names = ["prism_chaos_abdomen_seg", "prism_brats2021_tumour_seg", "prism_mmwhs_heart_seg"]
    requests = check.prepare(tmp_path, names, TINY, train="prism_mmwhs_heart_seg")
    assert requests == list(zip(names, ["case_1ch", "case_4ch", "case_1ch"]))
    for name in ("train00", "train01"):  # labelled with MM-WHS values, as a Slicer user would against /info/
        values = np.unique(np.asarray(nib.load(tmp_path / "studies" / "labels" / "final" / f"{name}.nii.gz").dataobj))
        assert values.tolist() == [0, 205, 850]
    assert (tmp_path / "bundles" / "prism_amos_abdomen_seg" / "models" / "model.pt").is_file()
    assert not (tmp_path / "bundles" / "prism_chaos_abdomen_seg" / "models" / "model.pt").exists()
    assert nib.load(tmp_path / "studies" / "case_4ch.nii.gz").shape == (72, 60, 40, 4)
    assert (tmp_path / "requests.txt").read_text().splitlines() == [f"{n} {s}" for n, s in requests]


def test_external_bundle_uses_its_source_weights(tmp_path):
    amos = _copy("prism_amos_abdomen_seg", tmp_path)
    chaos = _copy("prism_chaos_abdomen_seg", tmp_path)
    missing = bundles.read_bundle(chaos)
    assert not missing.servable and "prism_amos_abdomen_seg" in missing.problems[-1]
    bundles.save_untrained_weights(amos, amos / "models" / "model.pt", TINY)
    served = bundles.read_bundle(chaos)
    assert served.servable and served.checkpoint == (amos / "models" / "model.pt").resolve()
    assert set(served.labels.values()) == {63, 126, 189, 252}


def test_bundle_loading_several_keys_is_not_servable(tmp_path):
    bundle = _copy("prism_amos_abdomen_seg", tmp_path)
    config_file = bundle / "configs" / "inference.json"
    config = json.loads(config_file.read_text())
    for t in config["preprocessing"]["transforms"]:
        if t["_target_"] == "LoadImaged":
            t["keys"] = ["t2", "adc"]
    config_file.write_text(json.dumps(config))
    bundles.save_untrained_weights(bundle, bundle / "models" / "model.pt")
    read = bundles.read_bundle(bundle)
    assert read.image_keys == ["t2", "adc"] and not read.servable
    assert "MONAI Label gives one key 'image'" in read.problems[0]


def test_verify_catches_geometry_and_label_mistakes(tmp_path):
    study = check.make_study(tmp_path / "case.nii.gz", shape=(12, 10, 8))
    img = nib.load(study)
    bundle = REPO / "bundles" / "prism_mmwhs_heart_seg"
    good = np.zeros(img.shape, np.int16)
    good[2:5, 2:5, 2:5] = 205
    nib.save(nib.Nifti1Image(good, img.affine), tmp_path / "good.nii.gz")
    check.verify(study, tmp_path / "good.nii.gz", bundle, None, "prism_mmwhs_heart_seg")
    bad_value = good.copy()
    bad_value[0, 0, 0] = 3
    nib.save(nib.Nifti1Image(bad_value, img.affine), tmp_path / "value.nii.gz")
    with pytest.raises(ValueError, match=r"label values \[0, 3, 205\]"):
        check.verify(study, tmp_path / "value.nii.gz", bundle, None, "prism_mmwhs_heart_seg")
    nib.save(nib.Nifti1Image(good.astype(np.float32), img.affine), tmp_path / "float.nii.gz")
    with pytest.raises(ValueError, match="not an integer type"):
        check.verify(study, tmp_path / "float.nii.gz", bundle, None, "prism_mmwhs_heart_seg")
    nib.save(nib.Nifti1Image(good, np.eye(4)), tmp_path / "affine.nii.gz")
    with pytest.raises(ValueError, match="affine"):
        check.verify(study, tmp_path / "affine.nii.gz", bundle, None, "prism_mmwhs_heart_seg")
    nib.save(nib.Nifti1Image(good[:, :, :4], img.affine), tmp_path / "shape.nii.gz")
    with pytest.raises(ValueError, match="shape"):
        check.verify(study, tmp_path / "shape.nii.gz", bundle, None, "prism_mmwhs_heart_seg")
    info = tmp_path / "info.json"
    info.write_text(json.dumps({"models": {"prism_mmwhs_heart_seg": {"labels": {"lv_myocardium": 1}}}}))
    with pytest.raises(ValueError, match="/info/ labels"):
        check.verify(study, tmp_path / "good.nii.gz", bundle, info, "prism_mmwhs_heart_seg")


def test_app_task_answers_in_the_study_geometry(tmp_path):
    """In-process MONAI Label inference (no server): strict weights, image_path hidden from monai 1.6 Spacingd."""
    pytest.importorskip("monailabel", reason="MONAI Label is not installed here (tools/monailabel_app/setup_env.sh)")
    infer = _load("lib.infer", APP / "lib" / "infer.py")
    amos = _copy("prism_amos_abdomen_seg", tmp_path)
    bundles.save_untrained_weights(amos, amos / "models" / "model.pt", TINY)
    task = infer.PrismBundleInferTask(bundles.read_bundle(amos, TINY), {}, TINY)
    assert task.is_valid() and task.load_strict and task.labels["duodenum"] == 13
    assert task.bundle_config["feature_size"] == 12
    study = check.make_study(tmp_path / "case.nii.gz", shape=(40, 36, 24))
    label_file, result = task({"image": str(study), "device": "cpu"})
    assert result["label_names"] == task.labels
    check.verify(study, Path(label_file), amos, None, amos.name)


def test_app_trains_from_the_datastore(tmp_path):
    """MONAI Label's BundleTrainTask runs the bundle's train.yaml on its datastore and rewrites models/model.pt."""
    pytest.importorskip("monailabel", reason="MONAI Label is not installed here (tools/monailabel_app/setup_env.sh)")
    from monailabel.datastore.local import LocalDatastore

    train = _load("lib.train", APP / "lib" / "train.py")
    amos = _copy("prism_amos_abdomen_seg", tmp_path)
    weights = bundles.save_untrained_weights(amos, amos / "models" / "model.pt", TINY)
    before = torch.load(weights, weights_only=True)
    check.add_training_studies(tmp_path / "studies", bundles.read_bundle(amos, TINY).labels)
    datastore = LocalDatastore(str(tmp_path / "studies"), extensions=["*.nii.gz"], auto_reload=False)
    assert len(datastore.datalist()) == 2
    overrides = {**TINY, "pretrained_source": "scratch", "num_workers": 0, "cache_rate": 0.0, "batch_size": 1,
                 "num_samples": 1}  # fmt: skip
    task = train.PrismBundleTrainTask(bundles.read_bundle(amos, TINY), {}, overrides)
    request = {"model": amos.name, "max_epochs": 1, "val_split": 0.5, "device": "cpu", "multi_gpu": False}
    task(request, datastore)
    after = torch.load(weights, weights_only=True)
    assert after.keys() == before.keys() and any(not torch.equal(after[k], before[k]) for k in before)
