"""Corpus builder: DICOM metadata equals the tags, DICOM geometry, mixed corpora, skips, subject split."""

from __future__ import annotations

import copy
import json
import os
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from prism.data.corpus import build_corpus, corpus_command
from prism.data.datalist import RECORD_KEYS, load_datalist, make_record, split_by_subject
from prism.data.dicom import DicomSkip, read_dicom_header, read_dicom_metadata, series_to_nifti
from prism.data.sequence import infer_sequence
from prism.data.simulator import simulate_corpus

NIBABEL_DICOM = Path(nib.__file__).parent / "nicom" / "tests" / "data"


@pytest.mark.parametrize("name", ["MR_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm"])
def test_pydicom_metadata_equals_tags(name: str) -> None:
    path = get_testdata_file(name)
    ds = pydicom.dcmread(path)
    meta = read_dicom_metadata(path)
    assert meta["tr"] == float(ds[0x0018, 0x0080].value) == 4000.0
    assert meta["te"] == float(ds[0x0018, 0x0081].value) == 240.0
    assert meta["flip_angle"] == float(ds[0x0018, 0x1314].value) == 90.0
    assert meta["ti"] is None and "InversionTime" not in ds
    assert meta["field_strength"] is None and "MagneticFieldStrength" not in ds
    assert meta["patient_id"] == ds.PatientID and meta["series_uid"] == ds.SeriesInstanceUID
    assert meta["scanning_sequence"] == ds.ScanningSequence


def test_nibabel_dicom_metadata_equals_tags() -> None:
    ds = pydicom.dcmread(NIBABEL_DICOM / "0.dcm")
    meta = read_dicom_metadata(NIBABEL_DICOM / "0.dcm")
    assert meta["tr"] == float(ds.RepetitionTime) == 6600.0
    assert meta["te"] == float(ds.EchoTime) == 93.0
    assert meta["flip_angle"] == float(ds.FlipAngle)
    assert meta["field_strength"] == float(ds.MagneticFieldStrength) == 3.0
    assert meta["description"] == ds.SeriesDescription == "CBU_DTI_64D_1A"
    assert infer_sequence(None, meta["description"], tr=meta["tr"], te=meta["te"])[0] == "DWI"


def _write_series(
    folder: Path,
    positions: list[np.ndarray],
    orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0),
    patient: str = "dcm01",
    description: str | None = None,
) -> list[np.ndarray]:
    """A series made from pydicom's real MR_small.dcm: one file per position, written in shuffled order.

    Returns the pixel array of each slice in the order of ``positions``.
    """
    template = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    series_uid = generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    slices = []
    order = np.random.default_rng(0).permutation(len(positions))
    for k in order:
        ds = copy.deepcopy(template)
        pixels = (template.pixel_array.astype(np.int16) // 2 + 100 * int(k)).astype(np.int16)
        ds.PixelData = pixels.tobytes()
        ds.ImagePositionPatient = [f"{v:.6f}" for v in positions[k]]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = int(k) + 1
        ds.PatientID = patient
        if description is not None:
            ds.SeriesDescription = description
        ds.save_as(folder / f"slice{int(k):03d}.dcm")
        slices.append((int(k), pixels))
    return [p for _, p in sorted(slices, key=lambda s: s[0])]


def test_series_geometry_oblique(tmp_path: Path) -> None:
    angle = np.deg2rad(20.0)
    row = np.array([np.cos(angle), np.sin(angle), 0.0])
    col = np.array([0.0, 0.0, -1.0])  # coronal-oblique
    normal = np.cross(row, col)
    origin = np.array([-20.0, 35.0, 60.0])
    positions = [origin + 1.5 * k * normal for k in range(6)]
    pixels = _write_series(tmp_path / "dcm", positions, tuple(row) + tuple(col))
    files = [read_dicom_header(p) for p in sorted((tmp_path / "dcm").iterdir())]
    out, meta = series_to_nifti(files, tmp_path / "series.nii.gz")
    image = nib.load(out)
    data = np.asarray(image.dataobj)
    assert data.shape == (64, 64, 6) and data.dtype == np.int16
    for k in range(6):  # voxel (i, j, k) is pixel (row j, column i) of the k-th slice along the normal
        assert np.array_equal(data[:, :, k], pixels[k].T)
    lps = np.diag([-1.0, -1.0, 1.0])
    for i, j, k in [(0, 0, 0), (10, 3, 2), (63, 63, 5)]:
        expected = lps @ (positions[k] + i * 0.3125 * row + j * 0.3125 * col)
        assert np.allclose(image.affine @ [i, j, k, 1], [*expected, 1], atol=1e-4)
    # Independent check of the in-plane geometry with nibabel's DICOM wrapper of the first slice: its affine
    # is LPS with voxel axes (row index, column index); ours is RAS with (column index, row index).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "experimental" notice of nibabel's DICOM readers
        from nibabel.nicom import dicomwrappers

    first = min(files, key=lambda f: float(np.dot(np.asarray(f.dataset.ImagePositionPatient, float), normal)))
    wrapper = dicomwrappers.wrapper_from_data(first.dataset)
    assert np.allclose(lps @ wrapper.affine[:3, [1, 0, 3]], image.affine[:3, [0, 1, 3]], atol=1e-4)
    assert meta["tr"] == 4000.0


def test_series_rejections(tmp_path: Path) -> None:
    normal = np.array([0.0, 0.0, 1.0])
    uneven = [np.zeros(3) + z * normal for z in (0.0, 1.0, 2.0, 4.0)]
    _write_series(tmp_path / "uneven", uneven)
    files = [read_dicom_header(p) for p in sorted((tmp_path / "uneven").iterdir())]
    with pytest.raises(DicomSkip, match="inconsistent slice spacing"):
        series_to_nifti(files, tmp_path / "x.nii.gz")
    single = [read_dicom_header(get_testdata_file("MR_small.dcm"))]
    with pytest.raises(DicomSkip, match="2-D"):
        series_to_nifti(single, tmp_path / "y.nii.gz")
    duplicates = [np.zeros(3), np.zeros(3), normal]
    _write_series(tmp_path / "dup", duplicates)
    files = [read_dicom_header(p) for p in sorted((tmp_path / "dup").iterdir())]
    with pytest.raises(DicomSkip, match="duplicate slice positions"):
        series_to_nifti(files, tmp_path / "z.nii.gz")


@pytest.fixture(scope="module")
def mixed_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    simulate_corpus(
        root / "sim", subjects=3, seed=1, shape=24, spacing=10.0, sequences=["t1w_se", "flair", "stir", "dwi_b1000"]
    )
    plain = root / "plain" / "patient7"
    plain.mkdir(parents=True)
    volume = np.random.default_rng(0).random((12, 12, 12)).astype(np.float32)
    nib.save(nib.Nifti1Image(volume, np.eye(4)), plain / "scan.nii.gz")
    bad = root / "bad"
    bad.mkdir()
    (bad / "corrupt.nii.gz").write_bytes(b"\x1f\x8b\x08\x00not really gzip")
    volume[3, 4, 5] = np.nan
    nib.save(nib.Nifti1Image(volume, np.eye(4)), bad / "nan.nii.gz")
    nib.save(nib.Nifti1Image(np.ones((12, 12), np.float32), np.eye(4)), bad / "flat.nii.gz")
    (bad / "notes.bin").write_bytes(b"hello")
    (bad / "truncated.dcm").write_bytes(Path(get_testdata_file("MR_truncated.dcm")).read_bytes())
    positions = [np.array([0.0, 0.0, 3.0 * k]) for k in range(5)]
    _write_series(root / "dicom" / "dcm01", positions, patient="dcm01")
    _write_series(root / "dicom" / "dcm02", positions, patient="dcm02", description="t1_se_tra")
    for name in ("0.dcm", "1.dcm"):  # a real Siemens mosaic series shipped by nibabel
        (root / "dicom" / "mosaic").mkdir(exist_ok=True)
        (root / "dicom" / "mosaic" / name).write_bytes((NIBABEL_DICOM / name).read_bytes())
    return root


def test_mixed_corpus_records(mixed_root: Path, tmp_path: Path) -> None:
    result = build_corpus(mixed_root, tmp_path / "cache")
    by_dataset: dict[str, list[dict]] = {}
    for record in result.records:
        assert tuple(record) == RECORD_KEYS
        by_dataset.setdefault(record["dataset"], []).append(record)
    assert sorted(by_dataset) == ["dicom", "plain", "sim"]
    sim = by_dataset["sim"]
    assert len(sim) == 12 and {r["sequence"] for r in sim} == {"T1W", "FLAIR", "STIR", "DWI"}
    for record in sim:  # metadata equals the sidecar (seconds there, ms here)
        sidecar = json.loads(Path(record["image"].replace(".nii.gz", ".json")).read_text())
        assert record["tr"] == pytest.approx(sidecar["RepetitionTime"] * 1000)
        assert record["te"] == pytest.approx(sidecar["EchoTime"] * 1000)
        assert record["flip_angle"] == sidecar["FlipAngle"]
        assert record["field_strength"] == sidecar["MagneticFieldStrength"]
        assert record["body_region"] == "brain"
        if record["sequence"] in ("FLAIR", "STIR"):
            assert record["ti"] == pytest.approx(sidecar["InversionTime"] * 1000)
        else:
            assert record["ti"] is None
    (plain,) = by_dataset["plain"]
    assert plain["subject"] == "patient7" and plain["tr"] is None and plain["sequence"] == "other"
    dicom = {r["subject"]: r for r in by_dataset["dicom"]}
    assert sorted(dicom) == ["dcm01", "dcm02"]
    assert dicom["dcm01"]["sequence"] == "T2W"  # TR 4000 / TE 240 ms, from the parameters
    assert dicom["dcm02"]["sequence"] == "T1W"  # from the description
    assert dicom["dcm01"]["tr"] == 4000.0 and dicom["dcm01"]["session"] == "20040826"
    assert nib.load(dicom["dcm01"]["image"]).shape == (64, 64, 5)
    skipped = {Path(path.split(" (")[0]).name: reason for path, reason in result.skipped}
    assert "unreadable or corrupt" in skipped["corrupt.nii.gz"]
    assert "1 NaN voxels" in skipped["nan.nii.gz"]
    assert "not 3-D" in skipped["flat.nii.gz"]
    assert "not a NIfTI or DICOM" in skipped["notes.bin"]
    assert "mosaic" in skipped["mosaic"]
    assert "cannot decode pixel data" in skipped["truncated.dcm"]
    assert len(result.ignored) == 6  # dseg + lesion mask of 3 subjects


def test_corpus_command_split_and_monai(mixed_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from monai.data import load_decathlon_datalist

    out = tmp_path / "lists" / "datalist.json"
    corpus_command(str(mixed_root), out=str(out), val_fraction=0.34, seed=2)
    printed = capsys.readouterr().out
    assert "found 15 volumes" in printed and "SKIPPED" in printed and "NaN voxels" in printed
    training = load_decathlon_datalist(str(out), data_list_key="training")
    validation = load_decathlon_datalist(str(out), data_list_key="validation")
    assert len(training) + len(validation) == 15
    assert all(os.path.isfile(r["image"]) for r in training + validation)
    subjects = [{(r["dataset"], r["subject"]) for r in part} for part in (training, validation)]
    assert subjects[0] and subjects[1] and not subjects[0] & subjects[1]
    assert len(subjects[1]) == 2  # round(0.34 * 6 subjects)
    assert load_datalist(out, "validation") == validation


def test_split_is_by_subject_and_seeded() -> None:
    records = [make_record(f"v{s}_{k}.nii.gz", f"s{s}", dataset="d") for s in range(20) for k in range(3)]
    first = split_by_subject(records, val_fraction=0.2, seed=4)
    again = split_by_subject(records, val_fraction=0.2, seed=4)
    other = split_by_subject(records, val_fraction=0.2, seed=5)
    assert first == again and first != other
    val_subjects = {r["subject"] for r in first["validation"]}
    assert len(val_subjects) == 4 and len(first["validation"]) == 12
    assert not val_subjects & {r["subject"] for r in first["training"]}
    with pytest.raises(ValueError, match="sequence"):
        make_record("a.nii.gz", "s", sequence="T3W")
    with pytest.raises(ValueError, match="a.nii.gz: tr"):
        make_record("a.nii.gz", "s", tr=float("nan"))


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        (dict(tr=550.0, te=12.0), "T1W"),
        (dict(tr=4500.0, te=100.0), "T2W"),
        (dict(tr=3000.0, te=15.0), "PDW"),
        (dict(tr=9000.0, te=110.0, ti=2500.0), "FLAIR"),
        (dict(tr=4000.0, te=50.0, ti=240.0), "STIR"),
        (dict(tr=12.0, te=3.5, flip_angle=25.0), "T1W"),
        (dict(tr=5000.0, te=80.0, b_value=1000.0), "DWI"),
        (dict(tr=4.0, te=1.5, flip_angle=12.0, contrast=True), "DCE"),
        (dict(tr=None, te=None), "other"),
    ],
)
def test_sequence_from_parameters(kwargs: dict, expected: str) -> None:
    assert infer_sequence(**kwargs)[0] == expected
