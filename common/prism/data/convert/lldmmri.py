"""LLD-MMRI 2023 (task 26): focal liver lesion type from eight MR phases.

Release: the LLD-MMRI 2023 challenge data (github.com/LMMMEng/LLD-MMRI2023), the lesion-centred
``classification_dataset`` as the organisers ship it::

    classification_dataset/images/MR-12345/C-pre.nii.gz, C+A.nii.gz, C+V.nii.gz, C+Delay.nii.gz,
        T2WI.nii.gz, DWI.nii.gz, In Phase.nii.gz, Out Phase.nii.gz
    classification_dataset/labels/labels.txt                     "MR-12345 3" (0 hemangioma, 1 ICC, 2 abscess,
                                                                  3 metastasis, 4 cyst, 5 FNH, 6 HCC)
    classification_dataset/labels/labels_val_inaccessible.txt    "MR-67890 -1": the challenge's validation set
    classification_dataset/labels/train_fold1.txt .. val_fold5.txt   the organisers' five folds (kept)

Each case has one lesion; the datalist ``label`` is the list of its class (the multi-label contract of the
abnormality tasks). Cases without a label form the test list.
"""

from __future__ import annotations

import re

from prism.data.convert.core import Case, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.layout import find_root
from prism.data.convert.tables import read_rows

__all__ = ["SPECS"]

# registry channel -> file stem of the release
_PHASES = {
    "T1_pre": "C-pre",
    "T1_arterial": "C+A",
    "T1_venous": "C+V",
    "T1_delay": "C+Delay",
    "T2": "T2WI",
    "DWI": "DWI",
    "T1_in_phase": "In Phase",
    "T1_out_phase": "Out Phase",
}
# the organisers' label index -> the dataset's class name (matched to the registry's by name)
_CLASSES = ("hemangioma", "ICC", "abscess", "metastasis", "cyst", "FNH", "HCC")
_LAYOUT = (
    "classification_dataset/images/MR-12345/{C-pre,C+A,C+V,C+Delay,T2WI,DWI,In Phase,Out Phase}.nii.gz\n"
    "classification_dataset/labels/labels.txt, labels_val_inaccessible.txt, val_fold1..5.txt"
)


def _labels(path) -> dict[str, int]:
    return {row[0]: int(row[-1]) for row in read_rows(path, delimiter=" ") if len(row) >= 2} if path.is_file() else {}


def _discover(run: Conversion) -> None:
    root = find_root(run.source, "images", _LAYOUT)
    labels_dir = root / "labels"
    labels = _labels(labels_dir / "labels.txt")
    unlabelled = _labels(labels_dir / "labels_val_inaccessible.txt")
    folds = {}
    for path in run.glob("val_fold*.txt", labels_dir):
        k = int(re.search(r"val_fold(\d+)", path.name).group(1))
        folds.update({case: k for case in _labels(path)})
    if not labels:
        raise ConversionError(f"{labels_dir / 'labels.txt'}: no labels. Expected layout:\n{_LAYOUT}")
    for folder in sorted(p for p in (root / "images").iterdir() if p.is_dir() and not p.name.startswith(".")):
        case = folder.name
        with run.attempt(case):
            files = {channel: run.link(folder / f"{stem}.nii.gz") for channel, stem in _PHASES.items()}
            fields = {}
            if case in labels:
                fields["label"] = [run.class_name(_CLASSES[labels[case]])]
            elif case not in unlabelled:
                run.note(f"{case} is in neither labels.txt nor labels_val_inaccessible.txt.")
            run.add(
                Case(
                    case,
                    subject=case,
                    images=run.channel_keys(files),
                    split=None if case in labels else "test",
                    fold=folds.get(case) if case in labels and folds else None,
                    fields=fields,
                )
            )


SPECS = (
    DatasetSpec(
        name="lldmmri",
        title="LLD-MMRI 2023",
        tasks=("lldmmri_liver_abn",),
        download="https://github.com/LMMMEng/LLD-MMRI-Dataset",
        release="LLD-MMRI 2023 classification_dataset (lesion-centred ROIs, labels.txt, 5 folds)",
        licence="CC BY-NC 4.0 (non-commercial research; no redistribution)",
        citation="Lou et al., SDR-Former: a Siamese dual-resolution transformer for liver lesion classification "
        "using 3D multi-phase imaging, Neural Networks 185:107228 (2025)",
        layout=_LAYOUT,
        discover=_discover,
    ),
)
