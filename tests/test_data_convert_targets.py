"""``prism convert`` for the classification, grading, progression, age and registration datasets.

Their bundles are being written by other work at the same time, so each datalist is checked against the
datalist contract those bundles read (docs/datasets.md; HELPERS' contracts): sequence keys from the registry,
``label`` as one class name (a list of names for the multi-label abnormality tasks), ``baseline``/``followup``
for progression, ``age`` in years, ``moving``/``fixed`` pairs for registration; targets come from the
dataset's own spreadsheets and folder names.
"""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from convert_layouts import BUILDERS, TARGET_BUILDERS, dukeliver_series
from prism.data.convert import ConversionError, convert
from prism.data.convert.volumes import read_volume
from prism.tasks import get_task

RUNS = [
    ("lldmmri", None, {}),
    ("mrnet", None, {}),
    ("adni", "adni_ad_grade", {}),
    ("adni", "adni_brain_age", {}),
    ("adni", "adni_ad_prog", {}),
    ("ppmi", None, {}),
    ("careliver", None, {}),
    ("oai", "oai_kl_grade", {}),
    ("oai", "oai_kl_prog", {}),
    ("oasis3", "oasis3_dementia_grade", {}),
    ("oasis3", "oasis3_brain_age", {}),
    ("openbhb", None, {}),
    ("ixi", None, {}),
    ("oasis1", None, {"val_fraction": 0.4}),
    ("picai", "picai_isup_grade", {}),
    ("dukeliver", "dukeliver_series_seqid", {}),
]
_LAYOUTS = {**TARGET_BUILDERS, "picai": BUILDERS["picai"], "dukeliver": dukeliver_series}


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[tuple[str, str | None], Path]:
    root = tmp_path_factory.mktemp("targets")
    for name in {n for n, _, _ in RUNS}:
        (root / "dl" / name).mkdir(parents=True)
        _LAYOUTS[name](root / "dl" / name)
    out = {}
    for name, task, options in RUNS:
        out[(name, task)] = root / f"{name}_{task}"
        convert(name, root / "dl" / name, out[(name, task)], task=task, **options)
    return out


def _load(folder: Path) -> tuple[dict, dict]:
    return json.loads((folder / "datalist.json").read_text()), json.loads(
        (folder / "conversion_report.json").read_text()
    )


def _records(folder: Path) -> dict[str, dict]:
    return {r["case"]: r for records in _load(folder)[0].values() for r in records}


def _check_contract(task, folder: Path, datalist: dict) -> None:
    names = set(task.class_names)
    for split, records in datalist.items():
        for record in records:
            assert record["case"] and record["subject"]
            if task.family == "registration":
                files = ["moving", "fixed"] + [k for k in ("moving_label", "fixed_label") if k in record]
            elif task.family == "progression":
                files = ["baseline"] + (["followup"] if "followup" in record else [])
            else:
                files = list(task.input_keys)
            for key in files:
                assert (folder / record[key]).is_file() and read_volume(folder / record[key]).array.ndim == 3, (
                    key,
                    record,
                )
            if task.family == "age":
                assert isinstance(record["age"], float) and 0 < record["age"] < 120
            elif task.family == "abnormality" and (split != "test" or "label" in record):
                assert isinstance(record["label"], list) and set(record["label"]) <= names
            elif task.family != "registration" and (split != "test" or "label" in record):
                assert isinstance(record["label"], str) and (not names or record["label"] in names)


@pytest.mark.parametrize("name,task,options", RUNS, ids=[f"{n}-{t or 'default'}" for n, t, _ in RUNS])
def test_records_follow_the_contract(name, task, options, converted):
    folder = converted[(name, task)]
    datalist, report = _load(folder)
    spec_task = get_task(report["task"])
    _check_contract(spec_task, folder, datalist)
    subjects = [
        {r["subject"] for r in records} | {r.get("fixed_subject") for r in records} - {None}
        for records in datalist.values()
    ]
    assert all(not (a & b) for i, a in enumerate(subjects) for b in subjects[i + 1 :])
    assert report["licence"] and report["citation"]


def test_lldmmri_classes_by_name_and_the_official_folds(converted):
    records = _records(converted[("lldmmri", None)])
    assert records["MR-1"]["label"] == ["HCC"] and records["MR-2"]["label"] == ["hemangioma"]
    datalist, report = _load(converted[("lldmmri", None)])
    assert {r["case"] for r in datalist["validation"]} == {"MR-1", "MR-2"}  # the organisers' fold 1
    assert [r["case"] for r in datalist["test"]] == ["MR-5"] and "label" not in datalist["test"][0]
    assert set(records["MR-1"]) >= set(get_task("lldmmri_liver_abn").input_keys)


def test_mrnet_findings_from_the_three_spreadsheets(converted):
    records = _records(converted[("mrnet", None)])
    assert records["0000"]["label"] == ["abnormal", "ACL_tear"] and records["0001"]["label"] == []
    assert records["1130"]["label"] == ["abnormal", "ACL_tear", "meniscal_tear"]
    folder = converted[("mrnet", None)]
    sagittal = nib.load(folder / records["0000"]["sagittal"])
    assert sagittal.shape == (16, 16, 20) and np.allclose(sagittal.affine, np.eye(4))


def test_adni_targets(converted):
    grade = _records(converted[("adni", "adni_ad_grade")])
    assert {c: r["label"] for c, r in grade.items()} == {
        "002_S_0295_I13722": "CN",
        "002_S_0295_I45108": "CN",
        "011_S_0003_I11111": "AD",
    }
    assert _load(converted[("adni", "adni_ad_grade")])[1]["skipped"][0]["reason"] == "group 'SMC' is not CN, MCI or AD"
    age = _records(converted[("adni", "adni_brain_age")])
    assert age["002_S_0295_I45108"]["age"] == 86.0 and age["002_S_0295_I45108"]["image"].startswith("source/ADNI/")
    prog = _records(converted[("adni", "adni_ad_prog")])
    assert list(prog) == ["002_S_0295_m12"] and prog["002_S_0295_m12"]["label"] == "MCI"
    assert set(prog["002_S_0295_m12"]) >= {"baseline", "followup"}


def test_ppmi_groups(converted):
    labels = {r["subject"]: r["label"] for r in _records(converted[("ppmi", None)]).values()}
    assert labels == {"3102": "PD", "3103": "Control", "3104": "Prodromal"}


def test_careliver_stage_from_the_folder_name(converted):
    datalist, report = _load(converted[("careliver", None)])
    records = _records(converted[("careliver", None)])
    assert records["1920-A-S1"]["label"] == "S1" and records["1075-B2-S2"]["site"] == "Vendor_B2"
    assert [r["case"] for r in datalist["test"]] == ["0001-A"]
    assert report["skipped"] == [
        {"case": "1076-B1-S3", "reason": "missing file LiQA_training_data/Vendor_B1/1076-B1-S3/GED4.nii.gz"}
    ]


def test_oai_kl_grades_per_knee_and_visit(converted):
    grade = _records(converted[("oai", "oai_kl_grade")])
    assert {c: r["label"] for c, r in grade.items()} == {
        "9000099_00m_right": "KL2",
        "9000099_00m_left": "KL3",
        "9000296_00m_right": "KL0",
        "9000099_12m_right": "KL3",
    }
    prog, report = _records(converted[("oai", "oai_kl_prog")]), _load(converted[("oai", "oai_kl_prog")])[1]
    assert list(prog) == ["9000099_00m_right"] and prog["9000099_00m_right"]["label"] == "KL3"
    assert set(prog["9000099_00m_right"]) >= {"baseline", "followup"}
    assert {s["case"]: s["reason"] for s in report["skipped"]} == {
        "9000099_00m_left": "no KL grade at 12m for the left knee",
        "9000296_00m_right": "no KL grade at 12m for the right knee",
    }


def test_oasis3_age_at_scan_and_nearest_cdr(converted):
    age = _records(converted[("oasis3", "oasis3_brain_age")])
    assert age["OAS30001_d0800"]["age"] == round(65.2 + 800 / 365.25, 2) and age["OAS30001_d0000"]["sex"] == "F"
    assert "run-01" in age["OAS30001_d0000"]["image"]  # the first run of a session
    grade, report = (
        _records(converted[("oasis3", "oasis3_dementia_grade")]),
        _load(converted[("oasis3", "oasis3_dementia_grade")])[1],
    )
    assert {c: r["label"] for c, r in grade.items()} == {"OAS30001_d0000": "CDR0", "OAS30001_d0800": "CDR0.5"}
    assert {s["case"] for s in report["skipped"]} == {"OAS30002_d0100", "OAS30003_d0050"}


def test_openbhb_npy_on_the_mni_grid(converted):
    from prism.data.convert.openbhb import MNI152_1MM

    datalist, report = _load(converted[("openbhb", None)])
    records = _records(converted[("openbhb", None)])
    written = nib.load(converted[("openbhb", None)] / records["1000606"]["image"])
    assert written.shape == (182, 218, 182) and np.allclose(written.affine, MNI152_1MM)
    assert records["1000606"]["age"] == 23.5 and records["1000606"]["site"] == "3"
    assert [r["case"] for r in datalist["test"]] == ["2000101"]
    assert report["skipped"][0]["case"] == "1000808" and "(91, 109, 91)" in report["skipped"][0]["reason"]


def test_ixi_pairs(converted):
    records = _records(converted[("ixi", None)])
    assert sorted(records) == [
        "IXI002_T1_to_PD",
        "IXI002_T1_to_T2",
        "IXI012_T1_to_PD",
        "IXI012_T1_to_T2",
        "IXI013_T1_to_T2",
    ]
    assert records["IXI002_T1_to_PD"]["moving"].endswith("-T1.nii.gz") and records["IXI002_T1_to_PD"]["fixed"].endswith(
        "-PD.nii.gz"
    )
    reasons = {s["case"]: s["reason"] for s in _load(converted[("ixi", None)])[1]["skipped"]}
    assert reasons == {"IXI013_T1_to_PD": "no PD", "IXI014": "no T1 (the moving image of both pairs)"}


def test_oasis1_pairs_within_each_list_from_both_editions(converted):
    datalist, _ = _load(converted[("oasis1", None)])
    folder = converted[("oasis1", None)]
    pairs = [r for records in datalist.values() for r in records]
    members = {s: {r["subject"] for r in rs} | {r["fixed_subject"] for r in rs} for s, rs in datalist.items() if rs}
    assert sum(len(m) for m in members.values()) == 5  # 3 disc subjects + 2 neurite-oasis subjects, each in one list
    for pair in pairs:
        assert nib.load(folder / pair["moving_label"]).shape == nib.load(folder / pair["moving"]).shape
    analyze = next(p for p in pairs if p["subject"] == "OAS1_0001")
    assert analyze["moving"].startswith("nifti/") and analyze["moving_label"].endswith("_label.nii.gz")


def test_picai_grade_from_the_marksheet(converted):
    records = _records(converted[("picai", "picai_isup_grade")])
    assert {c: r["label"] for c, r in records.items()} == {
        "10000_1000000": "ISUP0",
        "10000_1000001": "ISUP0",
        "10001_1000002": "ISUP2",
        "10002_1000003": "ISUP4",
    }
    assert set(records["10000_1000000"]) >= {"t2", "adc", "hbv", "site"}


def test_duke_liver_series_types_from_the_class_folders(converted):
    records = _records(converted[("dukeliver", "dukeliver_series_seqid")])
    assert {c: (r["subject"], r["label"]) for c, r in records.items()} == {
        "0004_3": ("0004", "T2"),
        "0004_8": ("0004", "T1_arterial"),
        "0019_2": ("0019", "T2"),
    }


def test_registry_classes_are_matched_by_name_or_the_conversion_stops(tmp_path, monkeypatch):
    """A class name the registry does not know is an error naming both sides, not a silent new class."""
    TARGET_BUILDERS["mrnet"](tmp_path / "dl")
    import prism.data.convert.mrnet as mrnet

    monkeypatch.setitem(mrnet._FINDINGS, "acl", "torn_ligament")
    with pytest.raises(ConversionError, match=r"the dataset's class 'torn_ligament' is none of task 'mrnet_knee_abn'"):
        convert("mrnet", tmp_path / "dl", tmp_path / "out")
    assert not (tmp_path / "out" / "source").exists()  # a failed conversion leaves the folder reusable
