"""``prism check-dataset`` finds one planted problem of each kind, all in one run, and passes a clean dataset."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from convert_fixtures import affine, blob_label, image, write_nifti
from convert_layouts import BUILDERS
from prism.cli import main
from prism.data.check import CHECKS, check_dataset
from prism.data.convert import convert

SEQUENCES = ("t1", "t1ce", "t2", "flair")


def _case(root: Path, case: str, seed: int, **change) -> dict:
    """A BraTS-style case under ``root/<case>/`` (files the tests then break one by one)."""
    record = {"case": case, "subject": change.pop("subject", case)}
    for k, key in enumerate(SEQUENCES):
        record[key] = (
            write_nifti(root / "cases" / case / f"{key}.nii.gz", image((8, 8, 4), seed * 10 + k))
            .relative_to(root)
            .as_posix()
        )
    record["label"] = (
        write_nifti(root / "cases" / case / "label.nii.gz", blob_label((8, 8, 4), (1, 2, 4), seed))
        .relative_to(root)
        .as_posix()
    )
    return record


@pytest.fixture
def planted(tmp_path) -> Path:
    """One case per problem; ``good1``..``good3`` are clean."""
    root = tmp_path
    records = {
        name: _case(root, name, i)
        for i, name in enumerate(
            (
                "good1",
                "good2",
                "good3",
                "missing_key",
                "missing_file",
                "truncated",
                "flat",
                "nan",
                "empty",
                "bad_values",
                "shifted",
                "leak_a",
                "leak_b",
                "reused",
                "copied",
            )
        )
    }
    del records["missing_key"]["t1ce"]
    (root / records["missing_file"]["t2"]).unlink()
    data = (root / records["truncated"]["flair"]).read_bytes()
    (root / records["truncated"]["flair"]).write_bytes(data[: len(data) // 2])
    write_nifti(root / records["flat"]["t2"], image((8, 8, 1), 3))
    nan = image((8, 8, 4), 4)
    nan[1, 2, 3] = np.nan
    write_nifti(root / records["nan"]["t2"], nan)
    write_nifti(root / records["empty"]["flair"], np.zeros((8, 8, 4), np.float32))
    write_nifti(root / records["bad_values"]["label"], blob_label((8, 8, 4), (1, 3), 5))
    write_nifti(root / records["shifted"]["label"], blob_label((8, 8, 4), (1,), 6), affine(origin=(0.0, 2.0, 0.0)))
    records["leak_b"]["subject"] = "leak_a"
    records["reused"]["t2"] = records["good1"]["t2"]
    shutil.copy(root / records["good2"]["flair"], root / records["copied"]["flair"])
    validation = [records.pop("leak_b"), records.pop("good3")]
    (root / "datalist.json").write_text(json.dumps({"training": list(records.values()), "validation": validation}))
    return root


def test_every_planted_problem_is_found_in_one_run(planted):
    result = check_dataset(planted, "prism_brats2021_tumour_seg")
    found = {(p.check, p.case) for p in result.problems}
    assert found == {
        ("keys", "missing_key"),
        ("files", "missing_file"),
        ("files", "truncated"),
        ("dimensions", "flat"),
        ("finite", "nan"),
        ("empty", "empty"),
        ("labels", "bad_values"),
        ("geometry", "shifted"),
        ("subjects", "leak_a"),
        ("duplicates", "good1"),
        ("duplicates", "-"),
    }
    messages = {p.case: p.message for p in result.problems if p.check not in ("duplicates",)}
    assert (
        messages["missing_key"]
        == "case 'missing_key': ['t1ce'] missing (every training case needs t1, t1ce, t2, flair, label)."
    )
    assert messages["missing_file"] == "the file for 't2' does not exist: cases/missing_file/t2.nii.gz"
    assert "cases/truncated/flair.nii.gz: cannot be loaded" in messages["truncated"]
    assert messages["flat"].endswith("cases/flat/t2.nii.gz: spatial size (8, 8, 1) is below 2 on some axis (2-D?).")
    assert messages["nan"].endswith("cases/nan/t2.nii.gz: image 't2' holds 1 NaN voxel(s).")
    assert messages["empty"].endswith("cases/empty/flair.nii.gz: image 'flair' is empty (every voxel is 0).")
    assert "label map 'label' holds values [3] outside the task's label layout [0, 1, 2, 4]" in messages["bad_values"]
    assert messages["shifted"] == (
        "'label' and 't1' grids differ: corners up to 2 mm apart (spacing differs by 0 mm, "
        "origin by 2 mm, axes by 0 degrees); tolerance 0.01 mm."
    )
    assert messages["leak_a"] == "subject 'leak_a' is in more than one list: training, validation."
    reused, copied = (p.message for p in result.problems if p.check == "duplicates")
    assert reused.endswith("good1/t2.nii.gz is used by 2 entries: training/good1:t2, training/reused:t2.")
    assert copied.startswith("identical files: ") and "good2/flair.nii.gz" in copied and "copied/flair.nii.gz" in copied
    summary = result.summary()
    assert "training         13" in summary and f"{len(result.problems)} problem(s):" in summary
    assert all(name in summary for name in CHECKS)


def test_targets_of_other_families_are_checked(tmp_path):
    age = {"case": "a", "subject": "a", "image": write_nifti(tmp_path / "a.nii.gz", image()).name, "age": 150.0}
    sex = dict(age, case="b", subject="b", image=write_nifti(tmp_path / "b.nii.gz", image(seed=1)).name, age="old")
    (tmp_path / "datalist.json").write_text(json.dumps({"training": [age, sex]}))
    problems = {p.case: p.message for p in check_dataset(tmp_path, "openbhb_brain_age").problems}
    assert problems == {
        "a": "age 150.0 is not a number of years in [0.0, 120.0].",
        "b": "age 'old' is not a number of years in [0.0, 120.0].",
    }
    grade = {
        "case": "c",
        "subject": "c",
        "image": write_nifti(tmp_path / "c.nii.gz", image(seed=2)).name,
        "label": "AD",
    }
    multi = {
        "case": "d",
        "subject": "d",
        "image": write_nifti(tmp_path / "d.nii.gz", image(seed=3)).name,
        "label": "ICC",
    }
    sick = dict(
        grade, case="e", subject="e", image=write_nifti(tmp_path / "e.nii.gz", image(seed=4)).name, label="Sick"
    )
    (tmp_path / "datalist.json").write_text(json.dumps({"training": [grade, sick]}))
    assert [p.message for p in check_dataset(tmp_path, "adni_ad_grade").problems] == [
        "label ['Sick'] not among the task's classes ['CN', 'MCI', 'AD']."
    ]
    (tmp_path / "datalist.json").write_text(json.dumps({"training": [multi]}))
    problems = check_dataset(tmp_path, "mrnet_knee_abn").problems
    assert {p.check for p in problems} == {"keys", "targets"}
    assert "label 'ICC' should be a list of class names (multi-label task)." in [p.message for p in problems]


def test_a_datalist_that_cannot_be_read(tmp_path):
    (tmp_path / "datalist.json").write_text("{not json")
    [problem] = check_dataset(tmp_path, "prism_brats2021_tumour_seg").problems
    assert problem.check == "datalist" and "cannot read the datalist" in problem.message
    (tmp_path / "datalist.json").write_text(json.dumps({"train": []}))
    [problem] = check_dataset(tmp_path, "prism_brats2021_tumour_seg").problems
    assert problem.message.endswith("no training, validation or test list (found ['train']).")


def test_command_exits_non_zero_listing_every_problem_and_zero_on_a_converted_dataset(planted, tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        main(["check-dataset", str(planted), "--bundle", "prism_brats2021_tumour_seg"])
    assert error.value.code == 1
    printed = capsys.readouterr().out
    assert printed.count("\n  [") == 11 and "[geometry] training/shifted:" in printed
    BUILDERS["brats2021"](tmp_path / "download")
    convert("brats2021", tmp_path / "download", tmp_path / "clean")
    main(["check-dataset", str(tmp_path / "clean"), "--bundle", "brats2021_tumour_seg"])
    assert capsys.readouterr().out.rstrip().endswith("OK")


def test_truncated_gzip_is_a_load_failure_not_a_crash(tmp_path):
    path = write_nifti(tmp_path / "x.nii.gz", image())
    path.write_bytes(gzip.compress(b"not a nifti"))
    (tmp_path / "datalist.json").write_text(json.dumps({"test": [{"case": "x", "subject": "x", "image": "x.nii.gz"}]}))
    [problem] = check_dataset(tmp_path, "openbhb_brain_age").problems
    assert problem.check == "files" and problem.case == "x"


def test_volumes_without_orientation_or_too_big_at_the_bundle_spacing(tmp_path):
    import nibabel as nib

    unoriented = nib.Nifti1Image(image(), None)
    unoriented.set_qform(None, code=0)
    unoriented.set_sform(None, code=0)
    nib.save(unoriented, tmp_path / "a.nii.gz")
    write_nifti(tmp_path / "b.nii.gz", image(), affine((200.0, 200.0, 200.0)))  # a header with metres for millimetres
    records = [{"case": c, "subject": c, "image": f"{c}.nii.gz", "age": 30.0} for c in "ab"]
    (tmp_path / "datalist.json").write_text(json.dumps({"training": records}))
    problems = {p.check: p.message for p in check_dataset(tmp_path, "openbhb_brain_age").problems}
    assert problems["orientation"].endswith(
        "a.nii.gz: 'image' has qform and sform codes 0: its orientation is unknown "
        "(readers fall back to a guess). Write it with a qform or sform."
    )
    assert problems["size"].endswith(
        "b.nii.gz: 'image' would be 2048 million voxels at the bundle's [1.0, 1.0, 1.0] mm "
        "(limit 537 million); check its voxel size."
    )
