"""``prism convert`` on every segmentation dataset, from a tiny copy of its official layout to a datalist the
bundle's own first transforms read.

Each layout (``convert_layouts.py``) is built once per module with the quirks of the real download; each
conversion is then checked for what the dataset needs (official splits, label values rewritten to the
registry's layout, 4-D files split, DICOM and PNG stacks converted, masks merged, skips with reasons), and
its datalist goes through the bundle's deterministic preprocessing, parsed from the bundle's configs with
``monai.bundle.ConfigParser`` (``validate#preprocessing`` for trained tasks, ``preprocessing`` of
``evaluate.yaml`` for external ones).
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from convert_layouts import BUILDERS
from prism.data.convert import ConversionError, convert
from prism.tasks import get_task

REPO = Path(__file__).resolve().parents[1]
# (dataset, task or None for the default, options): conversions of the default suite
RUNS = [(name, None, {}) for name in BUILDERS if name != "hanseg"] + [
    ("atlas", "atlas_liver_seg", {}),
    ("prostate158", "prostate158_gland_seg", {}),
    ("hanseg", None, {"register": "none"}),
]


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("downloads")
    out = {}
    for name, build in BUILDERS.items():
        (root / name).mkdir()
        build(root / name)
        out[name] = root / name
    return out


@pytest.fixture(scope="module")
def converted(downloads, tmp_path_factory) -> dict[tuple[str, str | None], Path]:
    root = tmp_path_factory.mktemp("converted")
    out = {}
    for name, task, options in RUNS:
        target = root / f"{name}_{task or 'default'}"
        convert(name, downloads[name], target, task=task, **options)
        out[(name, task)] = target
    return out


def _datalist(folder: Path) -> dict:
    return json.loads((folder / "datalist.json").read_text())


def _report(folder: Path) -> dict:
    return json.loads((folder / "conversion_report.json").read_text())


def _values(folder: Path, record: dict) -> set[int]:
    from prism.data.convert.volumes import read_volume

    return set(np.unique(read_volume(folder / record["label"]).array).astype(int).tolist())


@pytest.mark.parametrize("name,task,options", RUNS, ids=[f"{n}-{t or 'default'}" for n, t, _ in RUNS])
def test_datalist_matches_the_task(name, task, options, converted):
    folder = converted[(name, task)]
    spec_task = get_task(task or _report(folder)["task"])
    datalist, report = _datalist(folder), _report(folder)
    assert report["licence"] and report["citation"] and report["release"] and report["bundle"] == spec_task.bundle_name
    lists = {s: r for s, r in datalist.items() if r}
    if spec_task.is_external:
        assert set(lists) == {"test"}, "external tasks are evaluated only"
    subjects = {s: {r["subject"] for r in records} for s, records in lists.items()}
    assert all(not (subjects[a] & subjects[b]) for a in subjects for b in subjects if a < b), "a subject in two lists"
    accepted = set(spec_task.raw_to_index())
    for split, records in lists.items():
        for record in records:
            assert set(spec_task.input_keys) <= set(record)
            for key in spec_task.input_keys:
                assert (folder / record[key]).is_file(), record[key]
            if split != "test" or "label" in record:
                assert _values(folder, record) <= accepted
    assert report["cases_written"] == {s: len(datalist.get(s, [])) for s in ("training", "validation", "test")}


def _bundle_inputs(name: str, task: str | None, folder: Path) -> list[dict]:
    """Every labelled record of the datalist, read as the bundle reads it, through its deterministic preprocessing."""
    from monai.bundle import ConfigParser
    from monai.data import load_decathlon_datalist

    spec_task = get_task(task or _report(folder)["task"])
    configs = REPO / "bundles" / spec_task.bundle_name / "configs"
    parser = ConfigParser()
    parser.read_config(str(configs / ("evaluate.yaml" if spec_task.is_external else "train.yaml")))
    parser["dataset_dir"] = str(folder)
    parser["pixdim"] = [2.0, 2.0, 2.0]
    transform = parser.get_parsed_content("preprocessing" if spec_task.is_external else "validate#preprocessing")
    splits = ("test",) if spec_task.is_external else ("training", "validation")
    datalist = _datalist(folder)
    records = [
        r for s in splits if datalist.get(s) for r in load_decathlon_datalist(folder / "datalist.json", True, s, folder)
    ]
    return [transform(r) for r in records]


@pytest.mark.parametrize("name,task,options", RUNS, ids=[f"{n}-{t or 'default'}" for n, t, _ in RUNS])
def test_bundle_preprocessing_reads_the_datalist(name, task, options, converted):
    folder = converted[(name, task)]
    spec_task = get_task(task or _report(folder)["task"])
    outputs = _bundle_inputs(name, task, folder)
    assert outputs
    for item in outputs:
        assert item["image"].shape[0] == len(spec_task.channels)
        if spec_task.is_external:  # evaluated in each label file's own geometry (values: raw or channels)
            allowed = set(spec_task.raw_to_index()) | set(range(spec_task.num_classes))
            assert set(np.unique(np.asarray(item["label"])).astype(int)) <= allowed
        else:  # resampled with the image, values mapped to output channels
            assert item["label"].shape[1:] == item["image"].shape[1:]
            assert set(np.unique(np.asarray(item["label"])).astype(int)) <= set(range(spec_task.num_classes))


# ---------------------------------------------------------------- what each dataset's quirks need


def test_acdc_frames_of_a_patient_stay_together_and_appledouble_is_ignored(converted):
    folder = converted[("acdc", None)]
    datalist, report = _datalist(folder), _report(folder)
    by_patient = {}
    for split, records in datalist.items():
        for r in records:
            by_patient.setdefault(r["subject"], set()).add(split)
            assert r["phase"] in ("ED", "ES")
    assert all(len(s) == 1 for s in by_patient.values()) and by_patient["patient101"] == {"test"}
    assert any(Path(p).name == "._patient001_frame01.nii.gz" for p in report["ignored_files"])
    assert len(datalist["test"]) == 2 and "label" in datalist["test"][0]  # ACDC's test set has ground truth


def test_mmwhs_stray_value_is_mapped_to_the_left_atrium(converted):
    folder = converted[("mmwhs", None)]
    report = _report(folder)
    assert 421 in report["label_values"]["source/mr_train/mr_train_1001_label.nii.gz"]
    assert report["label_changes"]["mr_train_1001"].startswith("values {421: 420} rewritten")
    record = next(r for s in _datalist(folder).values() for r in s if r["case"] == "mr_train_1001")
    assert 421 not in _values(folder, record) and 420 in _values(folder, record)
    assert [r["case"] for r in _datalist(folder)["test"]] == ["mr_test_2001"]


def test_msd_splits_4d_files_in_the_modality_order(converted, downloads):
    folder = converted[("msd_prostate", None)]
    record = _datalist(folder)["training"][0]
    source = nib.load(downloads["msd_prostate"] / "Task05_Prostate" / "imagesTr" / f"{record['case']}.nii.gz")
    for index, key in enumerate(("t2", "adc")):
        written = nib.load(folder / record[key])
        assert np.array_equal(np.asanyarray(written.dataobj), np.asanyarray(source.dataobj)[..., index])
        assert np.allclose(written.affine, source.affine)
    assert len(_report(folder)["ignored_files"]) == 3  # the ._ companions in imagesTr


def test_msd_label_header_that_differs_slightly_takes_the_image_header(converted):
    folder = converted[("msd_hippocampus", None)]
    change = _report(folder)["label_changes"]["hippocampus_001"]
    assert "header adopted (grids were 0.004 mm apart)" in change
    record = next(r for s in _datalist(folder).values() for r in s if r["case"] == "hippocampus_001")
    assert record["label"].startswith("nifti/")
    assert np.allclose(nib.load(folder / record["label"]).affine, nib.load(folder / record["image"]).affine)


def test_amos_keeps_mr_cases_and_the_official_lists(converted):
    datalist = _datalist(converted[("amos", None)])
    assert [r["case"] for r in datalist["validation"]] == ["amos_0600"]
    assert [r["case"] for r in datalist["test"]] == ["amos_0601"] and "label" not in datalist["test"][0]
    assert {r["case"] for r in datalist["training"]} == {"amos_0507", "amos_0508", "amos_0540"}
    assert any("1 CT cases" in n for n in _report(converted[("amos", None)])["notes"])


def test_chaos_png_stacks_follow_the_dicom_slices(converted, downloads):
    from convert_fixtures import blob_label
    from convert_layouts import SHAPE

    folder = converted[("chaos", None)]
    datalist, report = _datalist(folder), _report(folder)
    assert sorted(r["case"] for r in datalist["test"]) == ["chaos_mr_1", "chaos_mr_2"]
    assert report["skipped"] == [{"case": "chaos_mr_3", "reason": "no label (an external task only evaluates)"}]
    record = datalist["test"][0]
    label = np.asanyarray(nib.load(folder / record["label"]).dataobj)
    organs = blob_label(SHAPE, (1, 2, 3, 4), 1)
    # the DICOM series was stored flipped to RAS: column i, row j of slice k is voxel (i, j, k) of the NIfTI
    assert np.array_equal(label, np.choose(organs, [0, 63, 126, 189, 252]))


def test_duke_breast_merges_the_two_segmentations_whatever_their_segment_order(converted):
    folder = converted[("dukebreast", None)]
    datalist = _datalist(folder)
    records = {r["case"]: r for s in datalist.values() for r in s}
    assert set(records) == {"Breast_MRI_001", "Breast_MRI_002"}
    for case, (vessel_voxel, dense_voxel) in {
        "Breast_MRI_001": ((3, 3, 1), (4, 4, 2)),
        "Breast_MRI_002": ((4, 4, 2), (3, 3, 1)),
    }.items():
        label = np.asanyarray(nib.load(folder / records[case]["label"]).dataobj)
        assert label[vessel_voxel] == 3 and label[dense_voxel] == 2 and label[2, 2, 1] == 1 and label[0, 0, 0] == 0


def test_duke_liver_masks_follow_the_image_slices(converted):
    folder = converted[("dukeliver", None)]
    records = [r for s in _datalist(folder).values() for r in s]
    assert sorted(r["case"] for r in records) == ["0004_11", "0004_8", "0019_5"]
    assert len({tuple(s for s, rs in _datalist(folder).items() for r in rs if r["subject"] == "0004")}) == 1
    assert all(_values(folder, r) == {0, 1} for r in records)


def test_prostate158_lesion_skips_cases_without_a_tumour_and_keeps_the_csv_lists(converted):
    folder = converted[("prostate158", None)]
    datalist, report = _datalist(folder), _report(folder)
    assert report["skipped"] == [{"case": "021", "reason": "no adc_tumor_reader1 file listed"}]
    assert [r["case"] for r in datalist["validation"]] == ["030"] and [r["case"] for r in datalist["test"]] == ["001"]
    assert set(datalist["training"][0]) >= {"t2", "adc", "dwi", "label"}
    gland = _datalist(converted[("prostate158", "prostate158_gland_seg")])
    assert len(gland["test"]) == 5 and set(gland["test"][0]) >= {"image", "label"}


def test_oaizib_cm_lateral_tibial_cartilage_joins_the_registry_class(converted):
    folder = converted[("oaizib", None)]
    report = _report(folder)
    assert all("values {5: 4} rewritten" in change for change in report["label_changes"].values())
    assert len(report["label_changes"]) == 4 and [r["case"] for r in _datalist(folder)["test"]] == ["oaizib_004"]


def test_skmtea_input_is_the_root_sum_of_squares_of_the_echoes(converted, downloads):
    import h5py

    folder = converted[("skmtea", None)]
    datalist = _datalist(folder)
    assert [r["case"] for r in datalist["validation"]] == ["MTR_010"] and [r["case"] for r in datalist["test"]] == [
        "MTR_020"
    ]
    record = datalist["training"][0]
    with h5py.File(downloads["skmtea"] / "image_files" / f"{record['case']}.h5") as f:
        expected = np.sqrt(np.asarray(f["echo1"]) ** 2 + np.asarray(f["echo2"]) ** 2)
    written = nib.load(folder / record["image"])
    assert np.allclose(np.asanyarray(written.dataobj), expected, rtol=1e-6)
    assert np.allclose(written.affine, nib.load(folder / record["label"]).affine)


def test_spider_mha_reads_as_monai_reads_it_and_keeps_the_overview_split(converted, downloads):
    from monai.transforms import LoadImage

    from prism.data.convert.volumes import read_volume

    folder = converted[("spider", None)]
    datalist = _datalist(folder)
    assert [r["case"] for r in datalist["validation"]] == ["3_t2"]
    assert {r["case"] for r in datalist["training"]} == {"1_t2", "2_t2"}
    path = downloads["spider"] / "images" / "1_t2.mha"
    monai = LoadImage(image_only=True)(str(path))
    ours = read_volume(path)
    assert np.allclose(np.asarray(monai.affine), ours.affine) and np.array_equal(np.asarray(monai), ours.array)


def test_totalsegmentator_masks_are_merged_with_the_registry_values(converted):
    folder = converted[("totalsegmr", None)]
    datalist, report = _datalist(folder), _report(folder)
    task = get_task("totalsegmr_body_seg")
    assert [r["case"] for r in datalist["validation"]] == ["s0002"] and [r["case"] for r in datalist["test"]] == [
        "s0003"
    ]
    record = datalist["training"][0]
    expected = {0} | {task.labels[task.class_index(n) - 1].value for n in ("liver", "spleen", "vertebrae")}
    assert _values(folder, record) == expected
    assert any("kidney_cyst_left" in note for note in report["notes"])


def test_hanseg_masks_on_the_ct_grid_and_the_mr_brought_onto_it(converted):
    folder = converted[("hanseg", None)]
    records = [r for s in _datalist(folder).values() for r in s]
    task = get_task("hanseg_oar_seg")
    for record in records:
        label, mr = nib.load(folder / record["label"]), nib.load(folder / record["image"])
        assert label.shape == mr.shape == (12, 12, 8) and np.allclose(label.affine, mr.affine)
        expected = {0} | {task.labels[task.class_index(n) - 1].value for n in ("Brainstem", "Parotid_L", "Lips")}
        assert _values(folder, record) == expected
    assert any("Unknown_Organ" in note for note in _report(folder)["notes"])


@pytest.mark.slow
def test_hanseg_rigid_registration_recovers_a_known_shift(tmp_path):
    """MR shifted by 3 mm against the CT: after rigid registration it lies on the CT's anatomy again."""
    from scipy.ndimage import gaussian_filter

    from convert_fixtures import write_seg_nrrd

    case = tmp_path / "dl" / "HaN-Seg" / "set_1" / "case_01"
    grid = np.indices((32, 32, 24)).astype(float)
    body = ((grid[0] - 16) ** 2 / 81 + (grid[1] - 16) ** 2 / 49 + (grid[2] - 12) ** 2 / 36 < 1).astype(np.float32)
    nose = ((grid[0] - 22) ** 2 + (grid[1] - 16) ** 2 + (grid[2] - 16) ** 2 < 9).astype(np.float32)
    ct = gaussian_filter(1000 * body + 500 * nose, 1.0).astype(np.int16)
    write_seg_nrrd(case / "case_01_IMG_CT.nrrd", ct)
    write_seg_nrrd(
        case / "case_01_IMG_MR_T1.nrrd",
        gaussian_filter(300 * body + 900 * nose, 1.0).astype(np.float32),
        origin_lps=(3.0, 0.0, 0.0),
    )  # the same head, 3 mm away
    write_seg_nrrd(case / "case_01_OAR_Brainstem.seg.nrrd", (body > 0).astype(np.uint8), [("Brainstem", 0, 1)])
    convert("hanseg", tmp_path / "dl", tmp_path / "out", register="rigid")
    folder = tmp_path / "out"
    record = _datalist(folder)["training"][0] if _datalist(folder)["training"] else _datalist(folder)["validation"][0]
    mr = np.asanyarray(nib.load(folder / record["image"]).dataobj)
    centre = lambda a: np.array(np.nonzero(a > 0.5 * a.max())).mean(axis=1)  # noqa: E731
    assert np.linalg.norm(centre(mr) - centre(gaussian_filter(900 * nose + 300 * body, 1.0))) < 1.0
    assert any("registered to CT" in note for note in _report(folder)["notes"])


def test_picai_keeps_studies_of_a_patient_together_and_the_official_folds(converted, downloads, tmp_path):
    folder = converted[("picai", None)]
    datalist, report = _datalist(folder), _report(folder)
    validation = {r["case"] for r in datalist["validation"]}
    assert validation == {"10000_1000000", "10000_1000001"}  # official fold 0, both studies of patient 10000
    assert report["splits"] == "official fold 0 is the validation list"
    graded = next(r for r in datalist["training"] if r["case"] == "10001_1000002")
    expert = "source/picai_labels/csPCa_lesion_delineations/human_expert/resampled/10001_1000002.nii.gz"
    assert report["label_values"][expert] == [0, 2, 4]  # ISUP-graded lesions, as published
    assert _values(folder, graded) <= set(get_task("picai_lesion_seg").raw_to_index())
    assert any(r["case"] == "10002_1000003" for r in datalist["training"])  # the Pooch25 label
    folds = convert("picai", downloads["picai"], tmp_path / "folds", folds=2)
    assert len(folds.datalists) == 3
    with pytest.raises(ConversionError, match="the dataset has 2 official folds; --folds 3 asked"):
        convert("picai", downloads["picai"], tmp_path / "three", folds=3)


def test_chaos_grey_levels_outside_the_documented_ranges_skip_the_case(tmp_path):
    from convert_fixtures import write_png

    BUILDERS["chaos"](tmp_path / "dl")
    ground = tmp_path / "dl" / "CHAOS_Train_Sets" / "Train_Sets" / "MR" / "1" / "T2SPIR" / "Ground"
    write_png(ground / "IMG-0001-00002.png", np.full((8, 8), 100))
    report = json.loads(convert("chaos", tmp_path / "dl", tmp_path / "out").report.read_text())
    assert {"case": "chaos_mr_1", "reason": "PNG grey levels [100] are in no organ's range"} in report["skipped"]
