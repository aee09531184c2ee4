"""Input checks used by the task bundles: errors name the case, the sequence or the file."""

from __future__ import annotations

import pytest
import torch
from monai.data import MetaTensor

from prism.bundle import CheckLabelValuesd, CheckVolumed, RequireInputsd


def test_missing_sequence_names_case_and_sequence(tmp_path):
    t1 = tmp_path / "BraTS_001_t1.nii.gz"
    t1.write_bytes(b"x")
    check = RequireInputsd(["t1", "flair"])
    with pytest.raises(ValueError, match=r"case 'BraTS_001_t1.nii.gz': sequence 'flair' is missing"):
        check({"t1": str(t1)})
    with pytest.raises(ValueError, match=r"case 'BraTS_001': sequence 'flair' is missing"):
        check({"case": "BraTS_001", "t1": str(t1), "flair": ""})
    with pytest.raises(ValueError, match=r"case 'BraTS_001': the file for 'flair' does not exist: .*nope.nii.gz"):
        check({"case": "BraTS_001", "t1": str(t1), "flair": str(tmp_path / "nope.nii.gz")})
    assert check({"t1": str(t1), "flair": str(t1)})["flair"] == str(t1)


def test_label_values_outside_layout_name_the_file():
    label = MetaTensor(torch.tensor([[[0.0, 1.0], [2.0, 3.0]]]), meta={"filename_or_obj": "/data/case7_label.nii.gz"})
    with pytest.raises(ValueError, match=r"case7_label.nii.gz: label map 'label' holds values \[3\]"):
        CheckLabelValuesd("label", allowed=[0, 1, 2, 4])({"label": label})
    with pytest.raises(ValueError, match="non-integer"):
        CheckLabelValuesd("label", allowed=[0, 1])({"label": label * 0.5})
    assert CheckLabelValuesd("label", allowed=[0, 1, 2, 3])({"label": label})["label"] is label


def test_non_finite_images_name_the_file():
    image = MetaTensor(torch.ones(1, 2, 2, 2), meta={"filename_or_obj": "/data/t2.nii.gz"})
    CheckVolumed("image")({"image": image})
    image[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"/data/t2.nii.gz: image 'image' holds 1 NaN voxel"):
        CheckVolumed("image")({"image": image})
    image[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match=r"/data/t2.nii.gz: image 'image' holds infinite voxels"):
        CheckVolumed("image")({"image": image})


def test_volume_layout_checks_name_the_file():
    flat = MetaTensor(torch.ones(1, 8, 8, 1), meta={"filename_or_obj": "/data/slice.nii.gz"})
    with pytest.raises(ValueError, match=r"/data/slice.nii.gz: spatial size \(8, 8, 1\) is below 2"):
        CheckVolumed("image")({"image": flat})
    with pytest.raises(ValueError, match=r"/data/dwi.nii.gz: expected 1 channel\(s\), got shape \(3, 4, 4, 4\)"):
        CheckVolumed("image", channels=1)({"image": MetaTensor(torch.ones(3, 4, 4, 4), meta={"filename_or_obj": "/data/dwi.nii.gz"})})
    with pytest.raises(ValueError, match="channel-first 3-D"):
        CheckVolumed("image")({"image": torch.zeros(1, 4, 4)})
