"""Tiny copies of each public dataset's official layout, with the quirks of the real downloads.

One builder per ``prism convert`` dataset name: ``build(root) -> None`` writes the download under ``root``
exactly as it unpacks (folder and file names, formats, spreadsheets), a few cases each. Quirks planted on
purpose (the tests check each is handled): AppleDouble ``._*`` files, stray label values, label headers that
differ slightly from the image's, 4-D files, DICOM series to group, spreadsheets with targets or splits and
drifting headers, official splits and folds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from convert_fixtures import (
    APPLEDOUBLE,
    affine,
    blob_label,
    image,
    write_csv,
    write_dicom_series,
    write_mha,
    write_nifti,
    write_png,
    write_seg_nrrd,
    write_xlsx,
)
from prism.tasks import get_task

__all__ = ["BUILDERS"]

SHAPE = (8, 8, 4)
# the RAS affine of a MetaImage with identity direction (LPS), 0.5 x 0.5 x 3 mm: PI-CAI's labels are NIfTI on that grid
_MHA_RAS = np.diag([-0.5, -0.5, 3.0, 1.0])


def _values(task: str) -> tuple[int, ...]:
    return tuple(c.values[0] for c in get_task(task).labels)


def _pair(img: Path, lab: Path, seed: int, values, aff=None, shape=SHAPE) -> None:
    write_nifti(img, image(shape, seed), aff)
    write_nifti(lab, blob_label(shape, values, seed), aff)


def acdc(root: Path) -> None:
    for i, folder in ((1, "training"), (2, "training"), (3, "training"), (101, "testing")):
        patient = root / "database" / folder / f"patient{i:03d}"
        patient.mkdir(parents=True)
        (patient / f"._patient{i:03d}_frame01.nii.gz").write_bytes(APPLEDOUBLE)  # macOS archive companions
        (patient / "Info.cfg").write_text("ED: 1\nES: 12\nGroup: DCM\nHeight: 184.0\nNbFrame: 30\nWeight: 95.0\n")
        for frame in (1, 12):
            base = patient / f"patient{i:03d}_frame{frame:02d}"
            _pair(Path(f"{base}.nii.gz"), Path(f"{base}_gt.nii.gz"), i * 100 + frame, _values("acdc_heart_seg"))
        write_nifti(patient / f"patient{i:03d}_4d.nii.gz", image((8, 8, 4, 3), i))


def emidec(root: Path) -> None:
    for i, case in enumerate(("Case_N001", "Case_P002", "Case_P003")):
        base = root / "emidec-dataset-1.0.1" / case
        _pair(base / "Images" / f"{case}.nii.gz", base / "Contours" / f"{case}.nii.gz", i, _values("emidec_heart_seg"))
    write_nifti(
        root / "emidec-segmentation-testset-1.0.0" / "Case_T001" / "Images" / "Case_T001.nii.gz", image(SHAPE, 9)
    )


def mmwhs(root: Path) -> None:
    for i in range(3):
        values = _values("mmwhs_heart_seg") + ((421,) if i == 0 else ())  # the stray value of some label files
        _pair(
            root / "mr_train" / f"mr_train_{1001 + i}_image.nii.gz",
            root / "mr_train" / f"mr_train_{1001 + i}_label.nii.gz",
            i,
            values,
        )
    write_nifti(root / "mr_test" / "mr_test_2001_image.nii.gz", image(SHAPE, 7))


def _msd(root: Path, folder: str, prefix: str, task: str, channels: int, modality: dict) -> None:
    base = root / folder
    training = []
    for i in range(3):
        name = f"{prefix}_{i:03d}.nii.gz"
        shape = SHAPE + (channels,) if channels > 1 else SHAPE
        write_nifti(base / "imagesTr" / name, image(shape, i), affine((0.6, 0.6, 3.6)))
        label_affine = affine(
            (0.6, 0.6, 3.6), origin=(0.004, 0, 0) if i == 1 else (0, 0, 0)
        )  # a slightly different header
        write_nifti(base / "labelsTr" / name, blob_label(SHAPE, _values(task), i), label_affine)
        (base / "imagesTr" / f"._{name}").write_bytes(APPLEDOUBLE)
        training.append({"image": f"./imagesTr/{name}", "label": f"./labelsTr/{name}"})
    write_nifti(base / "imagesTs" / f"{prefix}_100.nii.gz", image(SHAPE + (channels,) if channels > 1 else SHAPE, 5))
    labels = {"0": "background", **{str(v): f"class{v}" for v in _values(task)}}
    (base / "dataset.json").write_text(
        json.dumps(
            {
                "name": folder,
                "modality": modality,
                "labels": labels,
                "training": training,
                "test": [f"./imagesTs/{prefix}_100.nii.gz"],
            }
        )
    )


def msd_heart(root: Path) -> None:
    _msd(root, "Task02_Heart", "la", "msd_heart_seg", 1, {"0": "MRI"})


def msd_hippocampus(root: Path) -> None:
    _msd(root, "Task04_Hippocampus", "hippocampus", "msd_hippocampus_seg", 1, {"0": "MRI"})


def msd_prostate(root: Path) -> None:
    _msd(root, "Task05_Prostate", "prostate", "msd_prostate_seg", 2, {"0": "T2", "1": "ADC"})


def dukebreast(root: Path) -> None:
    mapping = [["original_path_and_filename", "descriptive_path", "classic_path"]]
    for i, subject in enumerate(("Breast_MRI_001", "Breast_MRI_002")):
        study = root / "Duke-Breast-Cancer-MRI" / subject / "01-01-1990-NA-MRI BREAST BILATERAL W  WO-97538"
        pre = f"{3 + i}.000000-ax dyn pre-9387{i}"
        if i == 0:  # "Descriptive Directory Name": one folder per series, named by its description
            write_dicom_series(study / pre, image(SHAPE, i) * 10, patient=subject, description="ax dyn pre")
            write_dicom_series(
                study / "5.000000-ax dyn 1st pass-12340", image(SHAPE, 10), description="ax dyn 1st pass"
            )
        else:  # a study unpacked into one UID-named folder: the series must be grouped and told apart
            folder = study / "1.3.6.1.4.1.14519.5.2.1.186051521067863971269584893740842397538"
            names = [f"pre-{k}.dcm" for k in range(SHAPE[2])]
            write_dicom_series(folder, image(SHAPE, i) * 10, patient=subject, description="ax dyn pre", names=names)
            write_dicom_series(folder, image(SHAPE, 11), patient=subject, description="ax dyn 1st pass")
        if i == 0:  # the mapping spreadsheet names subject 1's series; subject 2's is found by its folder name
            mapping.append(
                [
                    f"DICOM_Images/{subject}/pre/Breast_MRI_001_pre_001.dcm",
                    f"Duke-Breast-Cancer-MRI//{subject}/01-01-1990-NA-MRI BREAST BILATERAL W  WO-97538/{pre}/1-001.dcm",
                    "x",
                ]
            )
        masks = root / "Segmentation_Masks_NRRD" / subject
        breast = np.zeros(SHAPE, np.uint8)
        breast[2:6, 2:6, 1:3] = 1
        write_seg_nrrd(masks / f"Segmentation_{subject}_Breast.seg.nrrd", breast, [("Breast", 0, 1)], spacing=(1, 1, 2))
        dv = np.zeros(SHAPE, np.uint8)
        dv[3, 3, 1], dv[4, 4, 2] = 1, 2
        segments = (
            [("Vessels", 0, 1), ("Dense", 0, 2)] if i == 0 else [("Dense", 0, 1), ("Vessels", 0, 2)]
        )  # order varies
        write_seg_nrrd(masks / f"Segmentation_{subject}_Dense_and_Vessels.seg.nrrd", dv, segments, spacing=(1, 1, 2))
    write_xlsx(root / "Breast-Cancer-MRI-filepath_filename-mapping.xlsx", mapping)


def amos(root: Path) -> None:
    base = root / "amos22"
    lists: dict[str, list] = {"training": [], "validation": [], "test": []}
    for case, folder, lab in (
        ("amos_0001", "Tr", True),
        ("amos_0507", "Tr", True),
        ("amos_0508", "Tr", True),
        ("amos_0540", "Tr", True),
        ("amos_0600", "Va", True),
        ("amos_0601", "Ts", False),
    ):
        seed = int(case[-3:])
        write_nifti(base / f"images{folder}" / f"{case}.nii.gz", image(SHAPE, seed))
        entry = {"image": f"./images{folder}/{case}.nii.gz"}
        if lab:
            write_nifti(
                base / f"labels{folder}" / f"{case}.nii.gz", blob_label(SHAPE, _values("amos_abdomen_seg")[:5], seed)
            )
            entry["label"] = f"./labels{folder}/{case}.nii.gz"
        lists[{"Tr": "training", "Va": "validation", "Ts": "test"}[folder]].append(entry)
    (base / "dataset.json").write_text(json.dumps({"name": "AMOS", **lists}))


def chaos(root: Path) -> None:
    grey = {0: 0, 1: 63, 2: 126, 3: 189, 4: 250}  # 250: inside the spleen's documented range 240-255
    for patient in (1, 2):
        base = root / "CHAOS_Train_Sets" / "Train_Sets" / "MR" / str(patient) / "T2SPIR"
        names = [f"IMG-00{patient:02d}-{k + 1:05d}.dcm" for k in range(SHAPE[2])]
        write_dicom_series(base / "DICOM_anon", image(SHAPE, patient) * 10, names=names, patient=f"chaos{patient}")
        organs = blob_label(SHAPE, (1, 2, 3, 4), patient)
        for k, name in enumerate(names):
            write_png(base / "Ground" / name.replace(".dcm", ".png"), np.vectorize(grey.get)(organs[:, :, k]).T)
    write_dicom_series(root / "CHAOS_Train_Sets" / "Train_Sets" / "MR" / "3" / "T2SPIR" / "DICOM_anon", image(SHAPE, 3))


def atlas(root: Path) -> None:
    base = root / "atlas-train-dataset-1.0.1" / "train"
    for i in range(3):
        _pair(base / "imagesTr" / f"im{i}.nii.gz", base / "labelsTr" / f"lb{i}.nii.gz", i, (1, 2))


def pansegdata(root: Path) -> None:
    for i in range(2):
        _pair(
            root / "t1" / "imagesTr" / f"MCF_{i:04d}_0000.nii.gz",
            root / "t1" / "labelsTr" / f"MCF_{i:04d}.nii.gz",
            i,
            (1,),
        )


def dukeliver(root: Path) -> None:
    for i, (patient, series) in enumerate((("0004", "8"), ("0004", "11"), ("0019", "5"))):
        base = root / "Segmentation" / patient / series
        names = [f"{k:04d}.dicom" for k in range(SHAPE[2])]
        write_dicom_series(base / "images", image(SHAPE, i) * 10, patient=patient, names=names)
        write_dicom_series(base / "masks", blob_label(SHAPE, (255,), i), patient=patient, names=names)


def promise12(root: Path) -> None:
    for i in range(3):
        write_mha(root / "TrainingData_Part1" / f"Case{i:02d}.mhd", image(SHAPE, i), spacing=(0.6, 0.6, 3.6))
        write_mha(
            root / "TrainingData_Part1" / f"Case{i:02d}_segmentation.mhd",
            blob_label(SHAPE, (1,), i).astype(np.uint8),
            spacing=(0.6, 0.6, 3.6),
        )
    write_mha(root / "TestData" / "Case00.mhd", image(SHAPE, 8), spacing=(0.6, 0.6, 3.6))


def prostate158(root: Path) -> None:
    header = ["ID", "t2", "adc", "dwi", "t2_anatomy_reader1", "t2_tumor_reader1", "adc_tumor_reader1"]
    for archive, csv_name, ids in (
        ("prostate158_train", "train.csv", (20, 21, 22)),
        ("prostate158_train", "valid.csv", (30,)),
        ("prostate158_test", "test.csv", (1,)),
    ):
        rows = [header]
        folder = "test" if archive.endswith("test") else "train"
        for i in ids:
            case = root / archive / folder / f"{i:03d}"
            for seq in ("t2", "adc", "dwi"):
                write_nifti(case / f"{seq}.nii.gz", image(SHAPE, i + len(seq)))
            write_nifti(case / "t2_anatomy_reader1.nii.gz", blob_label(SHAPE, (1, 2), i))
            tumour = i != 21  # case 021 has no tumour delineation
            if tumour:
                write_nifti(case / "adc_tumor_reader1.nii.gz", blob_label(SHAPE, (1,), i + 1))
            rel = f"{folder}/{i:03d}"
            rows.append(
                [
                    i,
                    f"{rel}/t2.nii.gz",
                    f"{rel}/adc.nii.gz",
                    f"{rel}/dwi.nii.gz",
                    f"{rel}/t2_anatomy_reader1.nii.gz",
                    "",
                    f"{rel}/adc_tumor_reader1.nii.gz" if tumour else "",
                ]
            )
        write_csv(root / archive / csv_name, rows)


def oaizib(root: Path) -> None:
    for i, (images, labels) in enumerate((("imagesTr", "labelsTr"),) * 3 + (("imagesTs", "labelsTs"),)):
        _pair(
            root / images / f"oaizib_{i + 1:03d}_0000.nii.gz",
            root / labels / f"oaizib_{i + 1:03d}.nii.gz",
            i,
            (1, 2, 3, 4, 5),
        )


def skmtea(root: Path) -> None:
    import h5py

    lists = {"train": ["MTR_005", "MTR_006"], "val": ["MTR_010"], "test": ["MTR_020"]}
    for name, scans in lists.items():
        images = [
            {"id": i, "file_name": f"{s}.h5", "scan_id": s, "subject_id": f"S{s[-2:]}", "timepoint": 0}
            for i, s in enumerate(scans)
        ]
        path = root / "annotations" / "v1.0.0" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps({"info": {"version": "v1.0.0"}, "images": images, "annotations": [], "categories": []})
        )
        for s in scans:
            (root / "image_files").mkdir(parents=True, exist_ok=True)
            with h5py.File(root / "image_files" / f"{s}.h5", "w") as f:
                f["echo1"], f["echo2"] = image(SHAPE, int(s[-2:])), image(SHAPE, int(s[-2:]) + 1)
            write_nifti(
                root / "segmentation_masks" / "dicom-track" / f"{s}.nii.gz",
                blob_label(SHAPE, (1, 2, 3, 4, 5, 6), int(s[-2:])),
                affine((0.3, 0.3, 0.8)),
            )


def spider(root: Path) -> None:
    rows = [["new_file_name", "subset", "num_vertebrae"]]
    for patient in (1, 2, 3):
        for series in ("t1", "t2", "t2_SPACE"):
            name = f"{patient}_{series}"
            write_mha(
                root / "images" / f"{name}.mha", image(SHAPE, patient * 10 + len(series)), spacing=(3.3, 0.6, 0.6)
            )
            write_mha(
                root / "masks" / f"{name}.mha",
                blob_label(SHAPE, (1, 5, 100, 201), patient).astype(np.uint8),
                spacing=(3.3, 0.6, 0.6),
            )
            rows.append([name, "validation" if patient == 3 else "training", 7])
    write_csv(root / "overview.csv", rows)


def hanseg(root: Path) -> None:
    for i in (1, 2):
        case = root / "HaN-Seg" / "set_1" / f"case_{i:02d}"
        ct = np.full((12, 12, 8), -1000, np.int16)
        ct[3:9, 3:9, 2:6] = 40 + i
        write_seg_nrrd(case / f"case_{i:02d}_IMG_CT.nrrd", ct, spacing=(1, 1, 2))
        mr = np.zeros((10, 10, 6), np.float32)
        mr[2:8, 2:8, 1:5] = 200
        write_seg_nrrd(case / f"case_{i:02d}_IMG_MR_T1.nrrd", mr, spacing=(1.2, 1.2, 2.5))
        for k, organ in enumerate(("Brainstem", "Parotid_L", "Lips", "Unknown_Organ")):
            mask = np.zeros((12, 12, 8), np.uint8)
            mask[4 + k, 5, 3] = 1
            write_seg_nrrd(case / f"case_{i:02d}_OAR_{organ}.seg.nrrd", mask, [(organ, 0, 1)], spacing=(1, 1, 2))


def totalsegmr(root: Path) -> None:
    for i, case in enumerate(("s0001", "s0002", "s0003")):
        write_nifti(root / case / "mri.nii.gz", image(SHAPE, i), affine((1.5, 1.5, 3.0)))
        for k, structure in enumerate(
            ("liver", "spleen", "vertebrae", "kidney_cyst_left")
        ):  # the last is not in the registry
            mask = np.zeros(SHAPE, np.uint8)
            mask[k, i, 1:3] = 1
            write_nifti(root / case / "segmentations" / f"{structure}.nii.gz", mask, affine((1.5, 1.5, 3.0)))
    write_csv(
        root / "meta.csv",
        [
            ["image_id", "age", "gender", "split"],
            ["s0001", 60, "m", "train"],
            ["s0002", 55, "f", "val"],
            ["s0003", 70, "f", "test"],
        ],
        delimiter=";",
    )


def brats2021(root: Path) -> None:
    for i, folder in (
        (0, "RSNA_ASNR_MICCAI_BraTS2021_TrainingData_16July2021"),
        (2, "RSNA_ASNR_MICCAI_BraTS2021_TrainingData_16July2021"),
        (3, "RSNA_ASNR_MICCAI_BraTS2021_TrainingData_16July2021"),
        (1, "RSNA_ASNR_MICCAI_BraTS2021_ValidationData"),
    ):
        case = f"BraTS2021_{i:05d}"
        base = root / folder / case
        for k, seq in enumerate(("t1", "t1ce", "t2", "flair")):
            write_nifti(base / f"{case}_{seq}.nii.gz", image(SHAPE, i * 10 + k))
        if "Training" in folder:
            write_nifti(base / f"{case}_seg.nii.gz", blob_label(SHAPE, (1, 2, 4), i))


def mamamia(root: Path) -> None:
    patients = ("DUKE_001", "ISPY1_1001", "NACT_01")
    for i, patient in enumerate(patients):
        for phase in range(3):
            write_nifti(root / "images" / patient / f"{patient}_000{phase}.nii.gz", image(SHAPE, i * 10 + phase))
        write_nifti(root / "segmentations" / "expert" / f"{patient}.nii.gz", blob_label(SHAPE, (1,), i))
    write_csv(
        root / "train_test_splits.csv", [["train_split", "test_split"], ["DUKE_001", "NACT_01"], ["ISPY1_1001", ""]]
    )


def picai(root: Path) -> None:
    studies = (("10000", "1000000", 0), ("10000", "1000001", 0), ("10001", "1000002", 1), ("10002", "1000003", 1))
    rows = [["patient_id", "study_id", "mri_date", "patient_age", "psa", "case_ISUP", "case_csPCa", "center"]]
    for k, (patient, study, fold) in enumerate(studies):
        folder = root / f"picai_public_images_fold{fold}" / patient
        for seq in ("t2w", "adc", "hbv", "cor", "sag"):
            write_mha(folder / f"{patient}_{study}_{seq}.mha", image(SHAPE, k * 10 + len(seq)), spacing=(0.5, 0.5, 3.0))
        labels = root / "picai_labels" / "csPCa_lesion_delineations" / "human_expert"
        case = f"{patient}_{study}"
        if k < 3:  # expert labels carry the lesion's ISUP grade
            write_nifti(labels / "resampled" / f"{case}.nii.gz", blob_label(SHAPE, (2, 4) if k else (), k), _MHA_RAS)
        else:  # one of the cases added by Pooch et al. (binary)
            write_nifti(labels / "Pooch25" / f"{case}.nii.gz", blob_label(SHAPE, (1,), k), _MHA_RAS)
        rows.append([patient, study, "2019-07-02", 65, 7.7, [0, 0, 2, 4][k], "NO" if k < 2 else "YES", "RUMC"])
    write_csv(root / "picai_labels" / "clinical_information" / "marksheet.csv", rows)


BUILDERS = {
    name: globals()[name]
    for name in (
        "acdc",
        "emidec",
        "mmwhs",
        "msd_heart",
        "msd_hippocampus",
        "msd_prostate",
        "dukebreast",
        "amos",
        "chaos",
        "atlas",
        "pansegdata",
        "dukeliver",
        "promise12",
        "prostate158",
        "oaizib",
        "skmtea",
        "spider",
        "hanseg",
        "totalsegmr",
        "brats2021",
        "mamamia",
        "picai",
    )
}


# ---------------------------------------------------------------- classification, age, registration


def lldmmri(root: Path) -> None:
    base = root / "classification_dataset"
    phases = ("C-pre", "C+A", "C+V", "C+Delay", "T2WI", "DWI", "In Phase", "Out Phase")
    for i in range(1, 6):
        for k, phase in enumerate(phases):
            write_nifti(base / "images" / f"MR-{i}" / f"{phase}.nii.gz", image((6, 6, 3), i * 10 + k))
    labels = {"MR-1": 6, "MR-2": 0, "MR-3": 3, "MR-4": 4}
    write_csv(base / "labels" / "labels.txt", [[c, v] for c, v in labels.items()], delimiter=" ")
    write_csv(base / "labels" / "labels_val_inaccessible.txt", [["MR-5", -1]], delimiter=" ")
    for fold, cases in ((1, ("MR-1", "MR-2")), (2, ("MR-3", "MR-4"))):
        write_csv(base / "labels" / f"val_fold{fold}.txt", [[c, labels[c]] for c in cases], delimiter=" ")
        write_csv(
            base / "labels" / f"train_fold{fold}.txt",
            [[c, v] for c, v in labels.items() if c not in cases],
            delimiter=" ",
        )


def mrnet(root: Path) -> None:
    base = root / "MRNet-v1.0"
    exams = {"train": ("0000", "0001", "0002"), "valid": ("1130",)}
    findings = {"0000": (1, 1, 0), "0001": (0, 0, 0), "0002": (1, 0, 1), "1130": (1, 1, 1)}
    for split, ids in exams.items():
        for exam in ids:
            for k, plane in enumerate(("sagittal", "coronal", "axial")):
                (base / split / plane).mkdir(parents=True, exist_ok=True)
                np.save(base / split / plane / f"{exam}.npy", (image((20 + k, 16, 16), int(exam) + k)).astype(np.uint8))
        for column, name in enumerate(("abnormal", "acl", "meniscus")):
            write_csv(base / f"{split}-{name}.csv", [[exam, findings[exam][column]] for exam in ids])


_LONI_HEADER = [
    "Image Data ID",
    "Subject",
    "Group",
    "Sex",
    "Age",
    "Visit",
    "Modality",
    "Description",
    "Type",
    "Acq Date",
    "Format",
    "Downloaded",
]


def _loni(root: Path, project: str, images: list[tuple], csv_name: str) -> None:
    rows = [_LONI_HEADER]
    for k, (image_id, subject, group, age, day, fmt) in enumerate(images):
        folder = root / project / subject / "MPRAGE" / f"{day}_08_20_30.0" / image_id
        if fmt == "NiFTI":
            write_nifti(folder / f"{project}_{subject}_MR_MPRAGE_br_raw_{image_id}.nii", image(SHAPE, k))
        else:
            write_dicom_series(folder, image(SHAPE, k) * 10, patient=subject, description="MPRAGE")
        month, day_of, year = day[5:7], day[8:10], day[:4]
        rows.append(
            [
                image_id,
                subject,
                group,
                "M",
                age,
                "sc",
                "MRI",
                "MPRAGE",
                "Original",
                f"{month}/{day_of}/{year}",
                fmt,
                "1/01/2024",
            ]
        )
    write_csv(root / csv_name, rows)


def adni(root: Path) -> None:
    _loni(
        root,
        "ADNI",
        [
            ("I13722", "002_S_0295", "CN", 84.9, "2006-04-18", "DCM"),
            ("I45108", "002_S_0295", "CN", 86.0, "2007-05-25", "NiFTI"),
            ("I11111", "011_S_0003", "AD", 81.3, "2005-09-01", "DCM"),
            ("I22222", "022_S_0014", "SMC", 70.2, "2012-01-10", "DCM"),
        ],
        "ADNI1_Screening_1_5T_1_01_2024.csv",
    )
    write_csv(
        root / "ADNIMERGE.csv",
        [
            ["RID", "PTID", "VISCODE", "EXAMDATE", "DX_bl", "DX"],
            [295, "002_S_0295", "bl", "2006-04-18", "CN", "CN"],
            [295, "002_S_0295", "m12", "2007-04-20", "CN", "MCI"],
            [3, "011_S_0003", "bl", "2005-09-01", "AD", "Dementia"],
        ],
    )


def ppmi(root: Path) -> None:
    _loni(
        root,
        "PPMI",
        [
            ("I281547", "3102", "PD", 67.0, "2011-02-23", "DCM"),
            ("I281600", "3103", "Control", 60.5, "2011-03-01", "DCM"),
            ("I281700", "3104", "Prodromal", 62.0, "2011-03-02", "DCM"),
            ("I999999", "9001", "Phantom", 0, "2011-03-03", "DCM"),
        ],
        "PPMI_T1_1_01_2024.csv",
    )


def careliver(root: Path) -> None:
    for folder, vendor, sequences in (
        ("LiQA_training_data", "Vendor_A/1920-A-S1", "all"),
        ("LiQA_training_data", "Vendor_A/1921-A-S4", "all"),
        ("LiQA_training_data", "Vendor_B2/1075-B2-S2", "all"),
        ("LiQA_training_data", "Vendor_B1/1076-B1-S3", "no GED4"),
        ("LiQA_val_data", "Vendor_A/0001-A", "all"),
    ):
        for k, seq in enumerate(("T1", "T2", "DWI_800", "GED1", "GED2", "GED3", "GED4")):
            if not (sequences == "no GED4" and seq == "GED4"):
                write_nifti(root / folder / vendor / f"{seq}.nii.gz", image(SHAPE, k + len(vendor)))


def oai(root: Path) -> None:
    series = {
        ("00m", "9000099", "10249506"): "SAG_3D_DESS_RIGHT",
        ("00m", "9000099", "10249507"): "SAG_3D_DESS_LEFT",
        ("00m", "9000099", "10249508"): "COR_IW_TSE_RIGHT",
        ("00m", "9000296", "10251101"): "SAG_3D_DESS_RIGHT",
        ("12m", "9000099", "11300005"): "SAG_3D_DESS_RIGHT",
    }
    contents: dict[str, list] = {}
    for k, ((visit, participant, barcode), description) in enumerate(series.items()):
        folder = (
            f"1.C.2/{participant}/20050909/{barcode}" if visit == "12m" else f"0.C.2/{participant}/20040909/{barcode}"
        )
        names = [f"{n:03d}" for n in range(1, SHAPE[2] + 1)]
        write_dicom_series(
            root / visit / folder, image(SHAPE, k) * 10, patient=participant, description=description, names=names
        )
        contents.setdefault(
            visit, [["Folder", "ParticipantID", "StudyDate", "Barcode", "StudyDescription", "SeriesDescription"]]
        )
        contents[visit].append([folder, participant, "20040909", barcode, "OAI^MR^ENROLLMENT^RIGHT", description])
    for visit, rows in contents.items():
        write_csv(root / visit / "contents.csv", rows)
    write_csv(
        root / "kxr_sq_bu00.txt",
        [
            ["ID", "SIDE", "READPRJ", "VERSION", "V00XRKL"],
            ["9000099", "1", "15", "1", "2"],
            ["9000099", "2", "15", "1", "3"],
            ["9000296", "1", "15", "1", "0"],
        ],
        delimiter="|",
    )
    write_csv(
        root / "kxr_sq_bu01.txt",
        [
            ["ID", "SIDE", "READPRJ", "VERSION", "V01XRKL"],
            ["9000099", "1", "15", "1", "3"],
            ["9000296", "1", "15", "1", "."],
        ],
        delimiter="|",
    )


def oasis3(root: Path) -> None:
    for k, (subject, days, run) in enumerate(
        (
            ("OAS30001", 0, "_run-01"),
            ("OAS30001", 0, "_run-02"),
            ("OAS30001", 800, ""),
            ("OAS30002", 100, ""),
            ("OAS30003", 50, ""),
        )
    ):
        folder = root / "scans" / f"{subject}_MR_d{days:04d}" / "anat1" / "NIFTI"
        write_nifti(folder / f"sub-{subject}_ses-d{days:04d}{run}_T1w.nii.gz", image(SHAPE, k))
    write_csv(
        root / "OASIS3_demographics.csv",
        [["OASISID", "AgeatEntry", "GENDER"], ["OAS30001", "65.2", "2"], ["OAS30002", "70.9", "1"]],
    )  # OAS30003 is not in it
    write_csv(
        root / "OASIS3_UDSb4_cdr.csv",
        [["OASISID", "days_to_visit", "CDRTOT"], ["OAS30001", 0, 0], ["OAS30001", 790, 0.5], ["OAS30002", 1000, 1]],
    )


def openbhb(root: Path) -> None:
    for k, (split, subject, shape) in enumerate(
        (
            ("train", "1000606", (1, 182, 218, 182)),
            ("train", "1000707", (1, 182, 218, 182)),
            ("train", "1000808", (1, 91, 109, 91)),
            ("val", "2000101", (1, 182, 218, 182)),
        )
    ):
        folder = root / split / "derivatives" / f"sub-{subject}" / "ses-1"
        folder.mkdir(parents=True)
        array = np.zeros(shape, np.float32)
        array[0, 80:100, 100:120, 80:100] = 1.0 + k
        np.save(folder / f"sub-{subject}_preproc-quasiraw_T1w.npy", array)
    write_csv(
        root / "participants.tsv",
        [
            ["participant_id", "age", "sex", "site", "study"],
            ["1000606", 23.5, "female", 3, "ABIDE1"],
            ["1000707", 61.0, "male", 7, "IXI"],
            ["1000808", 40.0, "male", 7, "IXI"],
            ["2000101", 35.25, "female", 3, "ABIDE1"],
        ],
        delimiter="\t",
    )


def ixi(root: Path) -> None:
    for k, (subject, site, sequences) in enumerate(
        (
            ("IXI002", "Guys-0828", ("T1", "T2", "PD")),
            ("IXI012", "HH-1211", ("T1", "T2", "PD")),
            ("IXI013", "HH-1212", ("T1", "T2")),
            ("IXI014", "HH-1213", ("T2", "PD")),
        )
    ):
        for seq in sequences:
            write_nifti(root / f"IXI-{seq}" / f"{subject}-{site}-{seq}.nii.gz", image(SHAPE, k * 10 + len(seq)))


def oasis1(root: Path) -> None:
    import nibabel as nib

    for k in range(1, 4):
        session = f"OAS1_{k:04d}_MR1"
        base = root / f"disc{k}" / session
        for folder, name, array in (
            ("PROCESSED/MPRAGE/T88_111", f"{session}_mpr_n4_anon_111_t88_masked_gfc.img", image(SHAPE, k)),
            (
                "FSL_SEG",
                f"{session}_mpr_n4_anon_111_t88_masked_gfc_fseg.img",
                blob_label(SHAPE, (1, 2, 3), k).astype(np.uint8),
            ),
        ):
            (base / folder).mkdir(parents=True, exist_ok=True)
            nib.save(nib.AnalyzeImage(array[..., None], np.diag([-1.0, 1.0, 1.0, 1.0])), str(base / folder / name))
    for k in (5, 6):  # the neurite-oasis (Learn2Reg) edition of two further subjects
        folder = root / "neurite-oasis.v1.0" / f"OASIS_OAS1_{k:04d}_MR1"
        write_nifti(folder / "aligned_norm.nii.gz", image(SHAPE, k))
        write_nifti(folder / "aligned_seg35.nii.gz", blob_label(SHAPE, (2, 3, 4, 41), k))


def dukeliver_series(root: Path) -> None:
    for k, (series_type, series) in enumerate((("T2", "0004_3"), ("T1_arterial", "0004_8"), ("T2", "0019_2"))):
        write_dicom_series(root / "Series_Classification" / series_type / series, image(SHAPE, k) * 10, suffix=".dicom")


TARGET_BUILDERS = {
    name: globals()[name]
    for name in ("lldmmri", "mrnet", "adni", "ppmi", "careliver", "oai", "oasis3", "openbhb", "ixi", "oasis1")
}
