"""The pieces every converter shares: spreadsheets, AppleDouble files, the output folder, label mapping,
subject-level splits and folds, geometry, and the ``prism convert`` command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from convert_fixtures import APPLEDOUBLE, affine, image, write_csv, write_mha, write_nifti, write_xlsx
from convert_layouts import BUILDERS
from prism.cli import main
from prism.data.convert import ConversionError, convert, list_datasets
from prism.data.convert.files import list_files, prepare_output
from prism.data.convert.labels import plan_labels, relabel
from prism.data.convert.splits import plan_splits
from prism.data.convert.tables import read_rows, read_table
from prism.data.convert.volumes import grid_difference, read_volume
from prism.tasks import get_task


# ---------------------------------------------------------------- spreadsheets
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_tables_sniff_the_delimiter_and_match_drifting_headers(tmp_path, delimiter):
    path = write_csv(tmp_path / "t.csv", [["\ufeffSubject ID ", "Age_at_scan"], ["p1", "61.5"], ["p2", ""]], delimiter)
    table = read_table(path)
    assert table.column("subject_id") == "Subject ID"  # BOM and spaces gone
    assert table.values("subject_id") == ["p1", "p2"] and table.values("AGE AT SCAN") == ["61.5", ""]


def test_xlsx_sheets_and_numbers_read_as_text(tmp_path):
    path = write_xlsx(
        tmp_path / "t.xlsx",
        [["patient_id", "KL"], ["9000099", 2], [None, None], ["9000296", 0.0]],
        sheet="dataset_info",
    )
    table = read_table(path, sheet="dataset_info")
    assert table.values("patient_id") == ["9000099", "9000296"] and table.values("kl") == ["2", "0"]
    with pytest.raises(ConversionError, match=r"no sheet 'other'; sheets: \['dataset_info'\]"):
        read_table(path, sheet="other")


def test_spreadsheet_errors_name_the_file_and_its_columns(tmp_path):
    path = write_csv(tmp_path / "t.csv", [["a", "b"], ["1", "2"]])
    with pytest.raises(
        ConversionError,
        match=r"t.csv: no column 'age' \(looked for age, AgeatEntry\); the file has columns \['a', 'b'\]",
    ):
        read_table(path).column("age", "AgeatEntry")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(
        ConversionError, match=r"old.xls: legacy Excel .xls is not read; save it as .xlsx or .csv first"
    ):
        read_rows(tmp_path / "old.xls")
    write_csv(tmp_path / "dup.csv", [["ID", "id"], ["1", "2"]])
    with pytest.raises(ConversionError, match="duplicate column names"):
        read_table(tmp_path / "dup.csv")


# ---------------------------------------------------------------- files and the output folder
def test_appledouble_and_macosx_files_are_left_out_and_counted(tmp_path):
    write_nifti(tmp_path / "imagesTr" / "a.nii.gz", image())
    (tmp_path / "imagesTr" / "._a.nii.gz").write_bytes(APPLEDOUBLE)
    (tmp_path / "__MACOSX" / "imagesTr").mkdir(parents=True)
    (tmp_path / "__MACOSX" / "imagesTr" / "._a.nii.gz").write_bytes(APPLEDOUBLE)
    ignored: list[Path] = []
    assert list_files(tmp_path, "**/*.nii.gz", ignored) == [tmp_path / "imagesTr" / "a.nii.gz"]
    assert len(ignored) == 2


def test_output_folder_is_never_the_download_nor_silently_overwritten(tmp_path):
    BUILDERS["atlas"](tmp_path / "dl")
    with pytest.raises(ConversionError, match="is inside the download"):
        convert("atlas", tmp_path / "dl", tmp_path / "dl" / "out")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConversionError, match="is not empty and holds no earlier conversion"):
        convert("atlas", tmp_path / "dl", tmp_path / "busy")
    convert("atlas", tmp_path / "dl", tmp_path / "out")
    with pytest.raises(ConversionError, match="already holds a conversion .* pass --overwrite to replace it"):
        convert("atlas", tmp_path / "dl", tmp_path / "out")
    (tmp_path / "out" / "mine.txt").write_text("kept")
    convert("atlas", tmp_path / "dl", tmp_path / "out", task="atlas_liver_seg", overwrite=True)
    assert (tmp_path / "out" / "mine.txt").read_text() == "kept"  # only the earlier conversion's outputs go
    assert json.loads((tmp_path / "out" / "conversion_report.json").read_text())["task"] == "atlas_liver_seg"
    assert (tmp_path / "out" / "source").is_symlink() and not (tmp_path / "out" / "nifti").exists()


def test_a_report_naming_paths_outside_the_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "conversion_report.json").write_text(json.dumps({"outputs": ["../elsewhere"]}))
    with pytest.raises(ConversionError, match="are not plain names"):
        prepare_output(tmp_path / "out", tmp_path / "dl", overwrite=True, owned=())


# ---------------------------------------------------------------- labels
def test_label_plan_keeps_accepted_values_rewrites_known_ones_and_reports_the_rest():
    task = get_task("mmwhs_heart_seg")
    plan = plan_labels([0, 205, 420, 421, 999], task, {421: "left_atrium"})
    assert plan.remap == {421: 420} and plan.unknown == (999,)
    assert np.array_equal(relabel(np.array([0, 421, 205]), plan.remap), [0, 420, 205])
    plan = plan_labels([0, 1, 2], get_task("oaizib_knee_seg"), {2: "tibial_cartilage"})
    assert plan.remap == {2: 4}  # a value that means another class than the registry's is rewritten
    with pytest.raises(ConversionError, match=r"class 'spleen', which task 'mmwhs_heart_seg' does not have"):
        plan_labels([1], task, {1: "spleen"})


def test_unknown_label_values_skip_the_case_with_the_reason(tmp_path):
    BUILDERS["atlas"](tmp_path / "dl")
    write_nifti(
        tmp_path / "dl" / "atlas-train-dataset-1.0.1" / "train" / "labelsTr" / "lb1.nii.gz",
        np.full((8, 8, 4), 7, np.int16),
    )
    result = convert("atlas", tmp_path / "dl", tmp_path / "out")
    report = json.loads(result.report.read_text())
    assert report["skipped"] == [{"case": "im1", "reason": "label values [7] are not in the task's layout [0, 1, 2]"}]
    assert report["label_values"]["source/atlas-train-dataset-1.0.1/train/labelsTr/lb1.nii.gz"] == [7]


def test_labels_on_another_grid_skip_the_case(tmp_path):
    BUILDERS["atlas"](tmp_path / "dl")
    write_nifti(
        tmp_path / "dl" / "atlas-train-dataset-1.0.1" / "train" / "labelsTr" / "lb2.nii.gz",
        np.zeros((8, 8, 4), np.int16),
        affine(origin=(3.0, 0, 0)),
    )
    write_nifti(
        tmp_path / "dl" / "atlas-train-dataset-1.0.1" / "train" / "labelsTr" / "lb0.nii.gz",
        np.zeros((8, 8, 5), np.int16),
    )
    flipped = np.diag([-1.0, -1.0, 1.0, 1.0])  # LPS written as RAS: the same voxels, mirrored in the world
    write_nifti(
        tmp_path / "dl" / "atlas-train-dataset-1.0.1" / "train" / "labelsTr" / "lb1.nii.gz",
        np.zeros((8, 8, 4), np.int16),
        flipped,
    )
    with pytest.raises(ConversionError, match="none of the 3 case"):
        convert("atlas", tmp_path / "dl", tmp_path / "out")
    write_nifti(tmp_path / "dl" / "atlas-train-dataset-1.0.1" / "train" / "imagesTr" / "im3.nii.gz", image(seed=3))
    write_nifti(
        tmp_path / "dl" / "atlas-train-dataset-1.0.1" / "train" / "labelsTr" / "lb3.nii.gz",
        np.zeros((8, 8, 4), np.int16),
    )
    report = json.loads(convert("atlas", tmp_path / "dl", tmp_path / "out").report.read_text())
    reasons = {s["case"]: s["reason"] for s in report["skipped"]}
    assert reasons["im0"] == "label and 'image' grids differ: shapes (8, 8, 4) vs (8, 8, 5)"
    assert reasons["im2"].startswith("label and 'image' grids differ: corners up to 3 mm apart")
    assert reasons["im1"].endswith("axes by 180 degrees)")


# ---------------------------------------------------------------- splits
class _C:
    def __init__(self, case, subject, split=None, fold=None):
        self.case, self.subject, self.split, self.fold = case, subject, split, fold


def test_splits_are_by_subject_seeded_and_keep_the_official_test_set():
    cases = [_C(f"s{i}_{t}", f"s{i}") for i in range(10) for t in (1, 2)] + [_C("t1", "t", "test")]
    plan = plan_splits(cases, val_fraction=0.2, seed=0, folds=0, external=False)
    [assignment] = plan.lists
    assert assignment["t1"] == "test"
    for i in range(10):
        assert assignment[f"s{i}_1"] == assignment[f"s{i}_2"]
    assert sum(v == "validation" for v in assignment.values()) == 4  # 2 subjects x 2 time points
    assert plan_splits(cases, val_fraction=0.2, seed=0, folds=0, external=False) == plan
    assert plan_splits(cases, val_fraction=0.2, seed=1, folds=0, external=False) != plan


def test_k_folds_cover_every_subject_once():
    cases = [_C(f"c{i}", f"s{i // 2}") for i in range(20)]
    plan = plan_splits(cases, val_fraction=0.2, seed=3, folds=5, external=False)
    assert len(plan.lists) == 5 and set(plan.folds.values()) == set(range(5))
    validated = [case for assignment in plan.lists for case, split in assignment.items() if split == "validation"]
    assert sorted(validated) == sorted(c.case for c in cases)
    assert all(plan.folds[f"c{2 * s}"] == plan.folds[f"c{2 * s + 1}"] for s in range(10))


def test_official_splits_that_share_a_subject_are_an_error():
    cases = [_C("a1", "a"), _C("a2", "a", "test")]
    with pytest.raises(ConversionError, match=r"put 1 subject\(s\) in two lists: a \(test/training\)"):
        plan_splits(cases, val_fraction=0.2, seed=0, folds=0, external=False)
    with pytest.raises(ConversionError, match="--folds must be 0"):
        plan_splits([_C("a", "a")], val_fraction=0.2, seed=0, folds=1, external=False)
    with pytest.raises(ConversionError, match=r"--val_fraction must be in \[0, 1\)"):
        plan_splits([_C("a", "a")], val_fraction=1.0, seed=0, folds=0, external=False)


def test_folds_option_writes_one_datalist_per_fold(tmp_path):
    BUILDERS["brats2021"](tmp_path / "dl")
    result = convert("brats2021", tmp_path / "dl", tmp_path / "out", folds=3)
    names = sorted(p.name for p in result.datalists)
    assert names == ["datalist.json", "datalist_fold0.json", "datalist_fold1.json", "datalist_fold2.json"]
    folds = [json.loads((tmp_path / "out" / f"datalist_fold{k}.json").read_text()) for k in range(3)]
    assert sorted(r["case"] for f in folds for r in f["validation"]) == [
        "BraTS2021_00000",
        "BraTS2021_00002",
        "BraTS2021_00003",
    ]
    assert all(f["test"][0]["case"] == "BraTS2021_00001" for f in folds)
    assert json.loads((tmp_path / "out" / "datalist.json").read_text()) == folds[0]


# ---------------------------------------------------------------- geometry
def test_metaimage_geometry_equals_monais_reading(tmp_path):
    from monai.transforms import LoadImage

    path = write_mha(tmp_path / "a.mha", image((5, 4, 3)), spacing=(0.5, 0.7, 2.0), origin=(10, -20, 30))
    monai = LoadImage(image_only=True)(str(path))
    ours = read_volume(path)
    assert np.allclose(np.asarray(monai.affine), ours.affine) and np.array_equal(np.asarray(monai), ours.array)


def test_grid_difference_says_by_how_much():
    a = affine((1.0, 1.0, 2.0))
    same = grid_difference((4, 4, 4), a, (4, 4, 4), a + 1e-6 * np.eye(4))
    assert same.agrees(1e-3)
    moved = grid_difference((4, 4, 4), a, (4, 4, 4), affine((1.0, 1.0, 2.0), origin=(0, 0.3, 0)))
    assert not moved.agrees(0.1) and moved.describe().startswith("corners up to 0.3 mm apart")
    assert grid_difference((4, 4, 4), a, (4, 4, 5), a).describe() == "shapes (4, 4, 4) vs (4, 4, 5)"


def test_unreadable_images_name_the_file(tmp_path):
    (tmp_path / "broken.nii.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match=r"broken.nii.gz: cannot read the image"):
        read_volume(tmp_path / "broken.nii.gz")
    with pytest.raises(ValueError, match=r"missing.mha: file not found"):
        read_volume(tmp_path / "missing.mha")


# ---------------------------------------------------------------- the command line
def test_list_names_every_dataset_and_its_bundles(capsys):
    main(["convert", "--list"])
    printed = capsys.readouterr().out
    for spec in list_datasets():
        assert spec.name in printed and all(bundle in printed for bundle in spec.bundles)
    assert len(list_datasets()) == 33


def test_command_converts_and_rejects_bad_arguments(tmp_path, capsys):
    BUILDERS["atlas"](tmp_path / "dl")
    main(["convert", "atlas", str(tmp_path / "dl"), "--out", str(tmp_path / "out"), "--seed", "3"])
    assert "training 2, validation 1" in capsys.readouterr().out
    with pytest.raises(ConversionError, match=r"--seed must be an integer, got 'x'"):
        main(["convert", "atlas", str(tmp_path / "dl"), "--out", str(tmp_path / "o2"), "--seed", "x"])
    with pytest.raises(ConversionError, match=r"atlas takes no option --sequence \(it takes: none\)"):
        main(["convert", "atlas", str(tmp_path / "dl"), "--out", str(tmp_path / "o3"), "--sequence", "t2"])
    with pytest.raises(ValueError, match="By 'atlass', did you mean 'atlas'"):
        main(["convert", "atlass", str(tmp_path / "dl"), "--out", str(tmp_path / "o4")])
    with pytest.raises(
        ConversionError, match=r"--task 'brats2021_tumour_seg': atlas feeds \['atlas_tumour_seg', 'atlas_liver_seg'\]"
    ):
        main(
            ["convert", "atlas", str(tmp_path / "dl"), "--out", str(tmp_path / "o5"), "--task", "brats2021_tumour_seg"]
        )
    with pytest.raises(ConversionError, match=r"no case of ATLAS 2023 \(liver\) found. Expected layout"):
        convert("atlas", _empty(tmp_path), tmp_path / "o6")
    with pytest.raises(SystemExit):  # fire refuses flags the command does not have
        main(["convert", "atlas", str(tmp_path / "dl"), "--out", str(tmp_path / "o7"), "--bogus", "1"])


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir(exist_ok=True)
    return tmp_path / "empty"


def test_manifest_for_private_cohorts(tmp_path):
    src = tmp_path / "cohort"
    rows = [["subject", "session", "sequence", "path", "label_path", "split", "site"]]
    for i in range(4):
        for seq in ("T2", "ADC"):
            write_nifti(src / f"p{i}" / f"{seq.lower()}.nii.gz", image(seed=i * 2 + len(seq)))
        write_nifti(src / f"p{i}" / "zones.nii.gz", np.zeros((8, 8, 4), np.int16))
        rows += [
            [f"p{i}", "s1", "T2", f"p{i}/t2.nii.gz", f"p{i}/zones.nii.gz", "test" if i == 3 else "", "A"],
            [f"p{i}", "s1", "adc", f"p{i}/adc.nii.gz", "", "test" if i == 3 else "", "A"],
        ]
    rows.append(["p9", "s1", "DWI", "p9/dwi.nii.gz", "", "", "B"])
    write_csv(src / "manifest.csv", rows)
    with pytest.raises(ConversionError, match="can feed any bundle: name one with --task"):
        convert("manifest", src, tmp_path / "out")
    result = convert("manifest", src, tmp_path / "out", task="msd_prostate_seg")
    datalist = json.loads(result.datalists[0].read_text())
    assert [r["case"] for r in datalist["test"]] == ["p3_s1"] and datalist["test"][0]["site"] == "A"
    assert set(datalist["training"][0]) >= {"t2", "adc", "label", "subject", "site"}
    skipped = json.loads(result.report.read_text())["skipped"]
    assert skipped == [{"case": "p9_s1", "reason": "sequence 'DWI' is none of the task's channels ['T2', 'ADC']"}]


def test_dicom_files_of_several_series_are_grouped_and_picked_by_description(tmp_path):
    from convert_fixtures import write_dicom_series
    from prism.data.convert import get_dataset
    from prism.data.convert.core import CaseSkip, Conversion

    folder = tmp_path / "dl" / "study"
    write_dicom_series(folder, image(seed=1) * 10, description="ax dyn pre", names=[f"a{k}.dcm" for k in range(4)])
    write_dicom_series(folder, image(seed=2) * 10, description="ax dyn 1st pass", names=[f"b{k}.dcm" for k in range(4)])
    run = Conversion(
        get_dataset("dukebreast"), get_task("dukebreast_breast_seg"), tmp_path / "dl", tmp_path / "out", {}
    )
    files = run.glob("study/*.dcm")
    with pytest.raises(CaseSkip, match="image: 2 DICOM series where one was expected"):
        run.dicom_series(files, "c1", "image")
    with pytest.raises(CaseSkip, match="image: 0 DICOM series matching 'post' where one was expected"):
        run.dicom_series(files, "c1", "image", description="post")
    path = run.dicom_series(files, "c1", "image", description=r"\bpre\b")
    assert np.array_equal(read_volume(tmp_path / "out" / path).array, (image(seed=1) * 10).astype(np.int16))
