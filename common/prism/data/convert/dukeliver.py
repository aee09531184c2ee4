"""Duke Liver Dataset (MRI) v2 (tasks 11 and 38): liver masks on many MR series types, and series labels.

Release: Zenodo record 7774566 (Macdonald et al., 2023), unpacked as it comes::

    Segmentation/0004/8/images/*.dicom      one series of patient 0004 (any of its series types)
    Segmentation/0004/8/masks/*.dicom       one mask slice per image slice, same file names (non-zero: liver)
    Series_Classification/<series type>/<patient>_<series>/*.dicom     (task 38)

Segmentation: each (patient, series) is a case and the patient its subject; the image series becomes NIfTI
(RAS) and the mask slices are stacked in the image's slice order. Series classification: the layout of
``Series_Classification`` (class folders) is the project's reading of the record and is unverified: the
converter stops with the folders it found when they do not fit.
"""

from __future__ import annotations

import numpy as np

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.volumes import read_grid

__all__ = ["SPECS"]


def _mask_volume(run: Conversion, images, masks) -> np.ndarray:
    """Mask slices (paired with image slices by file name) stacked in the image's slice order."""
    import pydicom

    from prism.data.dicom import read_dicom_header, slice_order

    headers = [read_dicom_header(f, force=True) for f in images]
    by_name = {m.name: m for m in masks}
    ordered = [headers[i] for i in slice_order(headers)]
    missing = [h.path.name for h in ordered if h.path.name not in by_name]
    if missing:
        raise CaseSkip(f"no mask slice for {missing[:3]}")
    slices = [np.asarray(pydicom.dcmread(str(by_name[h.path.name]), force=True).pixel_array) for h in ordered]
    liver = run.task.labels[run.task.class_index("liver") - 1].value
    return np.transpose(np.where(np.stack(slices, axis=-1) > 0, liver, 0), (1, 0, 2))


def _segmentation(run: Conversion) -> None:
    for image_dir in sorted({p.parent for p in run.glob("**/Segmentation/*/*/images/*")}):
        series_dir = image_dir.parent
        patient = series_dir.parent.name
        case = f"{patient}_{series_dir.name}"
        with run.attempt(case):
            images = run.glob("*", image_dir)
            image = run.dicom_series(images, case, run.task.input_keys[0])
            masks = run.glob("*", series_dir / "masks")
            label = None
            if masks:
                _, affine = read_grid(run.resolve(image))
                label = run.write(case, "label", _mask_volume(run, images, masks), affine, label=True)
            run.add(Case(case, subject=patient, images={run.task.input_keys[0]: image}, label=label))


def _series_types(run: Conversion) -> None:
    roots = sorted({p for p in run.source.glob("**/Series_Classification") if p.is_dir()})
    if len(roots) != 1:
        raise ConversionError(f"{run.source}: expected one Series_Classification folder, found {len(roots)}.")
    for class_dir in sorted(p for p in roots[0].iterdir() if p.is_dir() and not p.name.startswith(".")):
        for series_dir in sorted(p for p in class_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            case = series_dir.name
            patient = case.split("_")[0]
            with run.attempt(case):
                files = run.glob("*", series_dir)
                if not files:
                    raise ConversionError(
                        f"{series_dir}: no DICOM files; "
                        "Series_Classification/<series type>/<patient>_<series>/ expected."
                    )
                image = run.dicom_series(files, case, run.task.input_keys[0])
                run.add(
                    Case(
                        case,
                        subject=patient,
                        images={run.task.input_keys[0]: image},
                        fields={"label": run.class_name(class_dir.name)},
                    )
                )


def _discover(run: Conversion) -> None:
    (_segmentation if run.task.is_segmentation else _series_types)(run)


SPECS = (
    DatasetSpec(
        name="dukeliver",
        title="Duke Liver Dataset (MRI) v2",
        tasks=("dukeliver_liver_seg", "dukeliver_series_seqid"),
        download="https://zenodo.org/records/7774566",
        release="Duke Liver Dataset (MRI) v2, Zenodo 7774566 (Segmentation.zip; Series_Classification.zip)",
        licence="CC BY-NC-SA 4.0 (verify on the record)",
        citation="Macdonald et al., Duke Liver Dataset: a publicly available liver MRI dataset with liver "
        "segmentation masks and series labels, Radiology: Artificial Intelligence 5(5):e220275 (2023)",
        layout="Segmentation/0004/8/images/*.dicom + Segmentation/0004/8/masks/*.dicom\n"
        "Series_Classification/<series type>/<patient>_<series>/*.dicom",
        discover=_discover,
    ),
)
