"""SKM-TEA (task 17): knee cartilage and menisci on quantitative DESS (qDESS), DICOM track.

Release: SKM-TEA v1.0.0 from the Stanford AIMI repository, unpacked as it comes::

    image_files/MTR_005.h5                      "echo1", "echo2" (X, Y, Z magnitude), "seg", "stats"
    segmentation_masks/dicom-track/MTR_005.nii.gz   1 patellar, 2 femoral, 3/4 medial/lateral tibial cartilage,
                                                    5/6 medial/lateral meniscus (same grid as the HDF5 echoes)
    annotations/v1.0.0/train.json, val.json, test.json   the official split ("images": scan_id, subject_id, ...)

The input is the root-sum-of-squares of the two echoes (the registry's choice), written as NIfTI with the
label's affine (the HDF5 files carry none); labels are referenced in place. Needs h5py (the ``convert`` extra).
"""

from __future__ import annotations

import numpy as np

from prism.data.convert.core import Case, CaseSkip, Conversion, DatasetSpec
from prism.data.convert.files import ConversionError
from prism.data.convert.layout import read_json
from prism.data.convert.volumes import read_grid

__all__ = ["SPECS"]

_SPLITS = {"train.json": None, "val.json": "validation", "test.json": "test"}


def _scans(run: Conversion) -> dict[str, tuple[str, str | None]]:
    """scan id -> (subject id, official split) from the newest annotation version."""
    versions = sorted({p.parent for p in run.glob("annotations/*/*.json")})
    if not versions:
        raise ConversionError(
            f"{run.source}: no annotations/<version>/{{train,val,test}}.json. Layout:\n{SPECS[0].layout}"
        )
    scans = {}
    for name, split in _SPLITS.items():
        payload = read_json(versions[-1] / name) if (versions[-1] / name).is_file() else {"images": []}
        for image in payload.get("images", []):
            scans[str(image["scan_id"])] = (str(image.get("subject_id", image["scan_id"])), split)
    run.note(f"official split from {versions[-1].relative_to(run.source)}")
    return scans


def _rss(path) -> np.ndarray:
    try:
        import h5py
    except ImportError as error:
        raise ConversionError("SKM-TEA's HDF5 files need h5py: pip install 'prism-bundles[convert]'.") from error
    with h5py.File(path, "r") as f:
        if "echo1" not in f or "echo2" not in f:
            raise CaseSkip(f"{path.name} has no echo1/echo2")
        echo1, echo2 = np.asarray(f["echo1"], dtype=np.float32), np.asarray(f["echo2"], dtype=np.float32)
    return np.sqrt(echo1**2 + echo2**2)


def _discover(run: Conversion) -> None:
    for scan, (subject, split) in sorted(_scans(run).items()):
        with run.attempt(scan):
            h5 = run.require(run.source / "image_files" / f"{scan}.h5")
            label = run.link(run.source / "segmentation_masks" / "dicom-track" / f"{scan}.nii.gz")
            shape, affine = read_grid(run.resolve(label))
            image = _rss(h5)
            if image.shape != tuple(shape[:3]):
                raise CaseSkip(f"echoes of shape {image.shape} but label of shape {tuple(shape)}")
            key = run.task.input_keys[0]
            run.add(
                Case(scan, subject=subject, images={key: run.write(scan, key, image, affine)}, label=label, split=split)
            )


SPECS = (
    DatasetSpec(
        name="skmtea",
        title="SKM-TEA (DICOM track)",
        tasks=("skmtea_knee_seg",),
        download="https://aimi.stanford.edu/datasets/skm-tea-knee-mri",
        release="SKM-TEA v1.0.0 (image_files/, segmentation_masks/dicom-track/, annotations/v1.0.0/)",
        licence="Stanford University Dataset Research Use Agreement",
        citation="Desai et al., SKM-TEA: a dataset for accelerated MRI reconstruction with dense image labels for "
        "quantitative clinical evaluation, NeurIPS Datasets and Benchmarks (2021)",
        layout="image_files/MTR_005.h5\nsegmentation_masks/dicom-track/MTR_005.nii.gz\n"
        "annotations/v1.0.0/{train,val,test}.json",
        discover=_discover,
    ),
)
