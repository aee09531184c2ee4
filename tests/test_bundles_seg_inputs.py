"""The input forms of a multi-sequence bundle's inference (BraTS-like simulated data).

``image`` as one multi-channel NIfTI (what MONAI Label sends), ``image`` as a list of per-sequence files, and one
key per sequence (the datalist form) must give the same network input and the same label map, written in the
input's geometry; a wrong channel count names the file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser, ConfigWorkflow

from prism.tasks import get_task
from prism.data.synthetic import make_task_dataset, simulate_base_corpus

REPO = Path(__file__).resolve().parents[1]
TASK = get_task("brats2021_tumour_seg")
BUNDLE = REPO / "bundles" / TASK.bundle_name
TINY = {"feature_size": 12, "roi_size": [64, 32, 32], "pixdim": [6.25, 6.25, 6.25], "sw_batch_size": 1,
        "sw_overlap": 0.0, "dataloader#num_workers": 0}  # fmt: skip


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """One BraTS-like case as per-sequence files plus one 4-channel NIfTI (channels in channel_def order)."""
    corpus = simulate_base_corpus(tmp_path_factory.mktemp("corpus"), subjects=3, shape=40, spacing=5.0)
    data = tmp_path_factory.mktemp("brats")
    entry = json.loads(make_task_dataset(TASK, corpus, data).read_text())["test"][0]
    files = [data / entry[k] for k in TASK.input_keys]
    first = nib.load(files[0])
    stacked = np.stack([np.asanyarray(nib.load(f).dataobj) for f in files], axis=-1).astype(np.float32)
    nib.save(nib.Nifti1Image(stacked, first.affine), data / "case_image.nii.gz")
    nib.save(nib.Nifti1Image(stacked[..., :3], first.affine), data / "case_three.nii.gz")
    channel_def = json.loads((BUNDLE / "configs" / "metadata.json").read_text())
    channel_def = channel_def["network_data_format"]["inputs"]["image"]["channel_def"]
    assert [channel_def[str(i)] for i in range(len(files))] == list(TASK.channels)
    return data, entry, files, first


def _preprocessing():
    parser = ConfigParser()
    parser.read_config(str(BUNDLE / "configs" / "inference.json"))
    parser.update({k: v for k, v in TINY.items() if "#" not in k})
    return parser.get_parsed_content("preprocessing")


def _causes(exc: BaseException | None) -> str:
    text = []
    while exc is not None:
        text.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(text)


def test_the_three_input_forms_give_the_same_network_input(case):
    data, entry, files, _ = case
    preprocessing = _preprocessing()
    per_key = preprocessing({k: str(data / entry[k]) for k in TASK.input_keys})["image"]
    as_list = preprocessing({"image": [str(f) for f in files]})["image"]
    one_file = preprocessing({"image": str(data / "case_image.nii.gz")})["image"]
    assert per_key.shape[0] == len(TASK.channels) == 4
    torch.testing.assert_close(as_list.as_tensor(), per_key.as_tensor())
    torch.testing.assert_close(one_file.as_tensor(), per_key.as_tensor())
    torch.testing.assert_close(one_file.affine, per_key.affine)


def test_wrong_channel_counts_name_the_file_or_the_case(case):
    data, entry, files, _ = case
    preprocessing = _preprocessing()
    with pytest.raises(RuntimeError) as error:
        preprocessing({"image": str(data / "case_three.nii.gz")})
    message = _causes(error.value)
    assert "case_three.nii.gz: 3 channel(s), but the bundle takes 4 sequences" in message
    assert "in this order: T1, T1ce, T2, FLAIR" in message
    with pytest.raises(RuntimeError) as error:
        preprocessing({"case": "c1", "image": [str(f) for f in files[:2]]})
    assert "case 'c1': 'image' lists 2 file(s) but the bundle takes 4 sequences" in _causes(error.value)
    with pytest.raises(RuntimeError) as error:
        preprocessing({"case": "c1", "image": str(files[0]), "t1": str(files[0])})
    assert "give either 'image' or the sequence keys" in _causes(error.value)


def test_inference_on_a_multichannel_file_and_on_a_file_list(case, tmp_path):
    data, entry, files, first = case
    bundle = Path(shutil.copytree(BUNDLE, tmp_path / BUNDLE.name))
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "inference.json"))
    parser.update({"feature_size": TINY["feature_size"]})
    torch.manual_seed(0)
    (bundle / "models").mkdir(exist_ok=True)
    torch.save(parser.get_parsed_content("network_def").state_dict(), bundle / "models" / "model.pt")

    outputs = {}
    for form, image in (("file", "case_image.nii.gz"), ("list", [str(f.relative_to(data)) for f in files])):
        datalist = tmp_path / f"datalist_{form}.json"
        datalist.write_text(json.dumps({"test": [{"image": image}]}))
        out = tmp_path / f"out_{form}"
        workflow = ConfigWorkflow(
            config_file=str(bundle / "configs" / "inference.json"),
            meta_file=str(bundle / "configs" / "metadata.json"),
            logging_file=str(bundle / "configs" / "logging.conf"),
            workflow_type="infer",
            bundle_root=str(bundle),
            dataset_dir=str(data),
            datalist_file=str(datalist),
            output_dir=str(out),
            **TINY,
        )
        workflow.initialize()
        workflow.run()
        workflow.finalize()
        (written,) = list(out.glob("*_seg.nii.gz"))
        outputs[form] = nib.load(written)
    assert outputs["file"].get_filename().endswith("case_image_seg.nii.gz")
    assert outputs["list"].get_filename().endswith(files[0].name.replace(".nii.gz", "_seg.nii.gz"))
    for pred in outputs.values():
        assert pred.shape == first.shape[:3]
        np.testing.assert_allclose(pred.affine, first.affine, atol=1e-4)
        assert set(np.unique(np.asanyarray(pred.dataobj)).tolist()) <= {0, *(c.value for c in TASK.labels)}
    np.testing.assert_array_equal(np.asanyarray(outputs["file"].dataobj), np.asanyarray(outputs["list"].dataobj))
